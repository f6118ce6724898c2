//! The Files API: streamed uploads with sniffed types and a per-user quota, downloads with
//! ranges, signed links, background processing (checksum, thumbnails) and clean-up.

pub mod dto;
pub mod error;
pub mod events;
pub mod filename;
pub mod jobs;
pub mod links;
pub mod range;
pub mod repo;
pub mod routes;
pub mod service;
pub mod sweep;
pub mod thumbnail;
pub mod upload;

//! The settings of file uploads and of the storage that keeps them: local disk under
//! `DATA_DIR/uploads`, or S3 (or any S3-compatible store) when `S3_BUCKET_NAME` is set.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::Vars;
use crate::platform::sniff;

/// Common images, PDF, plain text, JSON, MP4 and M4A.
pub const DEFAULT_ALLOWED_TYPES: &str = "image/png,image/jpeg,image/gif,image/webp,image/heif,\
                                         application/pdf,text/plain,application/json,video/mp4,\
                                         audio/mp4";

/// The longest a signed link may live: what S3 allows for a presigned URL.
const MAX_URL_TTL: Duration = Duration::from_secs(7 * 86_400);

pub struct FilesConfig {
    /// Largest file one upload may carry.
    pub max_upload_bytes: u64,
    /// Replaces `REQUEST_TIMEOUT_SECS` for `POST /api/files`.
    pub upload_timeout: Duration,
    /// Sniffed types an upload may have.
    pub allowed_types: Vec<String>,
    pub max_storage_bytes_per_user: u64,
    /// Lifetime of signed download links (and thumbnail links).
    pub url_ttl: Duration,
    /// Base of the signed links this server hands out; unset: taken from the request.
    pub public_url: Option<String>,
    pub storage: StorageConfig,
}

pub enum StorageConfig {
    Local { root: PathBuf },
    S3(S3Config),
}

pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// For S3-compatible stores (MinIO, moto...); unset: AWS.
    pub endpoint: Option<String>,
    /// Unset: the credentials of the environment the server runs in (instance profile...).
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
    pub force_path_style: bool,
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace))
}

impl Vars {
    pub(super) fn files(&mut self, data_dir: &std::path::Path) -> FilesConfig {
        let allowed_types = self.allowed_types();
        let url_ttl = self.duration("FILE_URL_TTL", Duration::from_secs(15 * 60));
        if url_ttl > MAX_URL_TTL {
            self.fail("FILE_URL_TTL", "must be at most 7 days (7d)");
        }
        let public_url = self
            .raw("PUBLIC_URL")
            .map(|url| url.trim_end_matches('/').to_owned());
        if public_url.as_deref().is_some_and(|url| !is_http_url(url)) {
            self.fail(
                "PUBLIC_URL",
                "must be an http:// or https:// URL like https://api.example.com",
            );
        }
        FilesConfig {
            max_upload_bytes: self.ranged("MAX_UPLOAD_BYTES", 10 << 20, 1, 5 << 30),
            upload_timeout: self.secs("UPLOAD_TIMEOUT_SECS", 300, 1, 3600),
            allowed_types,
            max_storage_bytes_per_user: self.ranged(
                "MAX_STORAGE_BYTES_PER_USER",
                1 << 30,
                1,
                1 << 50,
            ),
            url_ttl: url_ttl.min(MAX_URL_TTL),
            public_url,
            storage: self.storage(data_dir),
        }
    }

    fn allowed_types(&mut self) -> Vec<String> {
        let raw = self.string("UPLOAD_ALLOWED_TYPES", DEFAULT_ALLOWED_TYPES);
        let types: Vec<String> = raw
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        let unknown: Vec<&str> = types
            .iter()
            .map(String::as_str)
            .filter(|t| !sniff::RECOGNISED.contains(t))
            .collect();
        if !unknown.is_empty() {
            let message = format!(
                "{} cannot be recognised from file contents; known types: {}",
                unknown.join(", "),
                sniff::RECOGNISED.join(", ")
            );
            self.fail("UPLOAD_ALLOWED_TYPES", message);
        }
        types
    }

    fn storage(&mut self, data_dir: &std::path::Path) -> StorageConfig {
        let Some(bucket) = self.raw("S3_BUCKET_NAME").map(str::to_owned) else {
            return StorageConfig::Local {
                root: data_dir.join("uploads"),
            };
        };
        let endpoint = self
            .raw("S3_ENDPOINT")
            .map(|url| url.trim_end_matches('/').to_owned());
        if endpoint.as_deref().is_some_and(|url| !is_http_url(url)) {
            self.fail(
                "S3_ENDPOINT",
                "must be an http:// or https:// URL like https://minio.internal:9000",
            );
        }
        let access_key_id = self.secret("AWS_ACCESS_KEY_ID");
        let secret_access_key = self.secret("AWS_SECRET_ACCESS_KEY");
        match (&access_key_id, &secret_access_key) {
            (Some(_), None) => self.fail(
                "AWS_SECRET_ACCESS_KEY",
                "is required when AWS_ACCESS_KEY_ID is set",
            ),
            (None, Some(_)) => self.fail(
                "AWS_ACCESS_KEY_ID",
                "is required when AWS_SECRET_ACCESS_KEY is set",
            ),
            _ => {}
        }
        StorageConfig::S3(S3Config {
            bucket,
            region: self.string("S3_REGION", "us-east-1"),
            endpoint,
            access_key_id,
            secret_access_key,
            force_path_style: self.flag("S3_FORCE_PATH_STYLE", false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    fn failing(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        match parse(pairs) {
            Ok(_) => Vec::new(),
            Err(ConfigError(issues)) => issues.into_iter().map(|i| i.var).collect(),
        }
    }

    #[test]
    fn uploads_default_to_local_disk_with_the_documented_limits() {
        let config = parse(&[("DATA_DIR", "/srv/aios")]).ok();
        let files = config.as_ref().map(|c| &c.files);
        assert_eq!(files.map(|f| f.max_upload_bytes), Some(10 << 20));
        assert_eq!(files.map(|f| f.max_storage_bytes_per_user), Some(1 << 30));
        assert_eq!(files.map(|f| f.url_ttl), Some(Duration::from_secs(900)));
        assert!(files.is_some_and(|f| f.allowed_types.iter().any(|t| t == "audio/mp4")));
        assert!(files.is_some_and(|f| matches!(
            &f.storage,
            StorageConfig::Local { root } if root == std::path::Path::new("/srv/aios/uploads")
        )));
    }

    #[test]
    fn s3_needs_both_keys_or_neither_and_a_real_endpoint() {
        assert_eq!(
            failing(&[("S3_BUCKET_NAME", "b"), ("AWS_ACCESS_KEY_ID", "k")]),
            ["AWS_SECRET_ACCESS_KEY"]
        );
        assert_eq!(
            failing(&[("S3_BUCKET_NAME", "b"), ("S3_ENDPOINT", "minio:9000")]),
            ["S3_ENDPOINT"]
        );
        let config = parse(&[
            ("S3_BUCKET_NAME", "b"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("S3_FORCE_PATH_STYLE", "true"),
        ])
        .ok();
        assert!(config.is_some_and(|c| matches!(
            &c.files.storage,
            StorageConfig::S3(s3) if s3.force_path_style
                && s3.endpoint.as_deref() == Some("http://127.0.0.1:9000")
                && s3.region == "us-east-1"
        )));
    }

    #[test]
    fn allowed_types_must_be_recognisable_and_links_short_lived() {
        assert_eq!(
            failing(&[("UPLOAD_ALLOWED_TYPES", "image/png,application/x-msdownload")]),
            ["UPLOAD_ALLOWED_TYPES"]
        );
        assert_eq!(failing(&[("FILE_URL_TTL", "30d")]), ["FILE_URL_TTL"]);
        assert_eq!(
            failing(&[("PUBLIC_URL", "api.example.com")]),
            ["PUBLIC_URL"]
        );
        assert_eq!(failing(&[("MAX_UPLOAD_BYTES", "0")]), ["MAX_UPLOAD_BYTES"]);
    }
}

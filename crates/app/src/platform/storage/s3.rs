//! The S3 driver: AWS, or any S3-compatible store at `S3_ENDPOINT` (MinIO, moto...).

use std::time::Duration;

use anyhow::Context as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use secrecy::ExposeSecret as _;

use crate::platform::config::S3Config;

/// A request's whole budget, retries included: a request handler must not hang on a store
/// that does not answer, and jobs retry on their own schedule.
const RETRY_TIMEOUT: Duration = Duration::from_secs(30);

/// `https://bucket.host` from `https://host`: virtual-hosted addressing with a custom endpoint.
fn virtual_hosted(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

pub(super) fn build(config: &S3Config) -> anyhow::Result<AmazonS3> {
    crate::platform::tls::install_default_provider();
    let options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60));
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 3,
        retry_timeout: RETRY_TIMEOUT,
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_virtual_hosted_style_request(!config.force_path_style)
        .with_client_options(options)
        .with_retry(retry);
    if let Some(endpoint) = &config.endpoint {
        let endpoint = if config.force_path_style {
            endpoint.clone()
        } else {
            virtual_hosted(endpoint, &config.bucket)
        };
        builder = builder
            .with_allow_http(endpoint.starts_with("http://"))
            .with_endpoint(endpoint);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        builder = builder
            .with_access_key_id(id.expose_secret())
            .with_secret_access_key(secret.expose_secret());
    }
    builder
        .build()
        .with_context(|| format!("configuring the S3 bucket {:?} (S3_*)", config.bucket))
}

#[cfg(test)]
mod tests {
    use super::virtual_hosted;

    #[test]
    fn virtual_hosted_endpoints_carry_the_bucket() {
        assert_eq!(
            virtual_hosted("https://minio.internal:9000", "media"),
            "https://media.minio.internal:9000"
        );
    }
}

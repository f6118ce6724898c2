//! Password hashing: argon2id with OWASP parameters on the blocking pool, with a bound on
//! concurrent hashes, and verification of legacy bcrypt hashes.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// Correct; `rehash` when the stored hash is bcrypt or weaker than today's parameters.
    Yes {
        rehash: bool,
    },
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Compared against when the account does not exist, so both cases cost one argon2 run.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .unwrap_or_else(|_| unreachable!("constant parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> anyhow::Result<String> {
    argon2()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

fn verify_blocking(password: &[u8], stored: &str) -> Verified {
    if stored.starts_with("$2") {
        // Legacy bcrypt hashes (`$2a$`, `$2b$`, `$2y$`) from the Node version.
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verified::Yes { rehash: true },
            _ => Verified::No,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    if argon2().verify_password(password, &parsed).is_err() {
        return Verified::No;
    }
    let current = Params::try_from(&parsed).ok();
    let rehash = parsed.algorithm.as_str() != "argon2id"
        || current.is_none_or(|p| p.m_cost() < MEMORY_KIB || p.t_cost() < ITERATIONS);
    Verified::Yes { rehash }
}

impl PasswordHasher {
    pub async fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let dummy = crate::platform::secrets::random_token();
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(dummy.as_bytes()))
            .await
            .context("hashing task")??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Runs `work` on the blocking pool once a permit is free: a login flood queues here
    /// instead of starving the runtime or exhausting memory (19 MiB per hash).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hasher closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await
            .context("password hashing task panicked")
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.expose_secret().as_bytes().to_vec();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies against `stored`, or against a dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<Verified> {
        let password = password.expose_secret().as_bytes().to_vec();
        let exists = stored.is_some();
        let stored: String = stored.unwrap_or(&self.dummy_hash).to_owned();
        let verified = self
            .run(move || verify_blocking(&password, &stored))
            .await?;
        Ok(if exists { verified } else { Verified::No })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_bcrypt_is_flagged_for_rehash() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(2).await?;
        let password = SecretString::from("correct horse battery");
        let hash = hasher.hash(&password).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            hasher.verify(&password, Some(&hash)).await?,
            Verified::Yes { rehash: false }
        );
        let wrong = SecretString::from("wrong horse battery");
        assert_eq!(hasher.verify(&wrong, Some(&hash)).await?, Verified::No);
        assert_eq!(hasher.verify(&password, None).await?, Verified::No);

        let legacy = bcrypt::hash("correct horse battery", 10)?;
        assert_eq!(
            hasher.verify(&password, Some(&legacy)).await?,
            Verified::Yes { rehash: true }
        );
        assert_eq!(hasher.verify(&wrong, Some(&legacy)).await?, Verified::No);
        Ok(())
    }
}

//! Password hashing: argon2id with OWASP parameters, and verification of legacy bcrypt hashes,
//! on a fixed pool of `PASSWORD_HASH_CONCURRENCY` threads that each keep and reuse one argon2
//! memory block.
//!
//! Why a pool of our own rather than `spawn_blocking`: every argon2 run needs 19 MiB. On the
//! blocking pool each thread that ever hashed kept its own malloc arena holding such a block, so
//! 20 concurrent logins left the process at ~370 MiB for good. Here the memory is bounded by the
//! pool: at most `PASSWORD_HASH_CONCURRENCY` blocks, allocated on a thread's first hash and
//! reused by every later one (ADR 0014).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;
use tokio::sync::{mpsc, oneshot};

/// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
/// A stored hash asking for more memory than this is refused rather than computed (a forged or
/// corrupted row must not make a login allocate gigabytes).
const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;
/// Requests waiting for a hashing thread, per thread, before senders wait (asynchronously) too.
const QUEUE_PER_THREAD: usize = 64;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    /// Correct; `rehash` when the stored hash is bcrypt or weaker than today's parameters.
    Yes {
        rehash: bool,
    },
}

enum Work {
    Hash(Vec<u8>, oneshot::Sender<anyhow::Result<String>>),
    Verify(Vec<u8>, String, oneshot::Sender<Verified>),
}

struct Job {
    work: Work,
    span: tracing::Span,
}

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// Compared against when the account does not exist, so both cases cost one argon2 run.
    dummy_hash: Arc<str>,
}

fn params() -> Params {
    Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .unwrap_or_else(|_| unreachable!("constant parameters are valid"))
}

/// One hashing thread's reusable argon2 memory.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// `blocks` blocks of memory, reusing (and keeping) the thread's allocation.
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::default());
        }
        &mut self.0[..blocks]
    }

    /// Gives back memory a larger-than-usual stored hash made us take.
    fn trim(&mut self) {
        let usual = params().block_count();
        if self.0.len() > usual {
            self.0.truncate(usual);
            self.0.shrink_to_fit();
        }
    }
}

fn hash_with(memory: &mut Memory, password: &[u8]) -> anyhow::Result<String> {
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt_bytes = argon2::password_hash::try_generate_salt()
        .map_err(|e| anyhow::anyhow!("no randomness for a salt: {e}"))?;
    let salt = Salt::new(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password,
            &salt,
            &mut out,
            memory.blocks(params.block_count()),
        )
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(hash.to_string())
}

fn verify_with(memory: &mut Memory, password: &[u8], stored: &str) -> Verified {
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
    let (Ok(algorithm), Ok(stored_params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return Verified::No;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return Verified::No,
    };
    if stored_params.m_cost() > MAX_STORED_MEMORY_KIB {
        return Verified::No;
    }
    let argon2 = Argon2::new(algorithm, version, stored_params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = argon2.hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        memory.blocks(stored_params.block_count()),
    );
    memory.trim();
    if computed.is_err() || !bool::from(out.ct_eq(expected.as_bytes())) {
        return Verified::No;
    }
    let rehash = algorithm != Algorithm::Argon2id
        || stored_params.m_cost() < MEMORY_KIB
        || stored_params.t_cost() < ITERATIONS;
    Verified::Yes { rehash }
}

/// One hashing thread: takes jobs until every sender is gone, reusing its memory.
fn hashing_thread(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut memory = Memory::default();
    loop {
        // The lock is held only while waiting for the next job: one idle thread waits on the
        // channel, the others on the lock.
        let job = match jobs.lock() {
            Ok(mut receiver) => receiver.blocking_recv(),
            Err(_) => None,
        };
        let Some(Job { work, span }) = job else {
            return;
        };
        let _entered = span.enter();
        // A panic (none is expected) drops the reply, which the caller sees as an error; the
        // thread, and its memory, stay for the next job.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| match work {
            Work::Hash(password, reply) => {
                let _ = reply.send(hash_with(&mut memory, &password));
            }
            Work::Verify(password, stored, reply) => {
                let _ = reply.send(verify_with(&mut memory, &password, &stored));
            }
        }));
    }
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (at least one). They stop when the last clone of the
    /// hasher is dropped.
    pub async fn new(threads: usize) -> anyhow::Result<Self> {
        let threads = threads.max(1);
        let (sender, receiver) = mpsc::channel(threads.saturating_mul(QUEUE_PER_THREAD));
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || hashing_thread(receiver))
                .context("starting a password hashing thread")?;
        }
        let mut hasher = Self {
            jobs: sender,
            dummy_hash: Arc::from(""),
        };
        // Hashed on a thread of its own whose argon2 memory is freed afterwards, not on the
        // pool (whose threads keep theirs): an idle server holds no 19 MiB block.
        let dummy = crate::platform::secrets::random_token().into_bytes();
        let dummy_hash =
            tokio::task::spawn_blocking(move || hash_with(&mut Memory::default(), &dummy))
                .await
                .context("hashing the dummy password")??;
        hasher.dummy_hash = dummy_hash.into();
        Ok(hasher)
    }

    /// Queues `work` for the pool and waits for its answer: a login flood waits here, in the
    /// bounded queue, instead of starving the runtime or growing memory.
    async fn run<T>(&self, work: impl FnOnce(oneshot::Sender<T>) -> Work) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work: work(reply),
            span: tracing::Span::current(),
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("password hashing threads stopped"))?;
        answer.await.context("password hashing failed (panicked)")
    }

    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.expose_secret().as_bytes().to_vec();
        self.run(|reply| Work::Hash(password, reply)).await?
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
            .run(|reply| Work::Verify(password, stored, reply))
            .await?;
        Ok(if exists { verified } else { Verified::No })
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher as _;

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

    #[tokio::test]
    async fn hashes_of_the_argon2_crate_verify_and_weaker_ones_ask_for_a_rehash()
    -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1).await?;
        let password = SecretString::from("correct horse battery");
        // Made by the crate's own PHC encoder: ours must read exactly what it writes.
        let salt = argon2::password_hash::generate_salt();
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password_with_salt(b"correct horse battery", &salt)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .to_string();
        assert_eq!(
            hasher.verify(&password, Some(&standard)).await?,
            Verified::Yes { rehash: false }
        );
        let weak_params = Params::new(8 * 1024, 1, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let weak = Argon2::new(Algorithm::Argon2i, Version::V0x13, weak_params)
            .hash_password_with_salt(b"correct horse battery", &salt)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .to_string();
        assert_eq!(
            hasher.verify(&password, Some(&weak)).await?,
            Verified::Yes { rehash: true }
        );
        let wrong = SecretString::from("correct horse battery!");
        assert_eq!(hasher.verify(&wrong, Some(&weak)).await?, Verified::No);
        assert_eq!(
            hasher
                .verify(
                    &password,
                    Some("$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                )
                .await?,
            Verified::No
        );
        // Verifying the weaker (smaller) hash did not break the usual one.
        let mine = hasher.hash(&password).await?;
        assert_eq!(
            hasher.verify(&password, Some(&mine)).await?,
            Verified::Yes { rehash: false }
        );
        Ok(())
    }
}

//! Where work comes from: random Monero-form hashing blobs (or a given template), renewed on a
//! timer and on demand, published to every connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use tokio::sync::watch;

use crate::protocol::{NONCE_LEN, NONCE_OFFSET};

/// Length of a Monero hashing blob built by [`random_hashing_blob`].
pub const HASHING_BLOB_LEN: usize = 76;

/// One unit of work shared by all connections; each connection turns it into its own job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// 1, 2, 3, ... per server.
    pub seq: u64,
    /// Hashing blob with a zero nonce.
    pub blob: Vec<u8>,
    /// Block height its jobs carry.
    pub height: u64,
    /// The RandomX seed its jobs carry (and their shares are verified with).
    pub seed_hash: Option<String>,
    /// The next epoch's seed, announced so miners can build its dataset ahead.
    pub next_seed_hash: Option<String>,
}

/// The epoch's seed and the next one's, once announced.
#[derive(Debug, Default)]
struct Seeds {
    current: Option<String>,
    next: Option<String>,
}

/// Makes templates and broadcasts the latest one.
#[derive(Debug)]
pub(crate) struct JobSource {
    algo: String,
    template: Option<Vec<u8>>,
    seq: AtomicU64,
    height: AtomicU64,
    seeds: Mutex<Seeds>,
    tx: watch::Sender<Arc<Template>>,
}

impl JobSource {
    /// A source that has already published its first template.
    pub fn new(
        algo: &str,
        template: Option<Vec<u8>>,
        height: u64,
        seed_hash: Option<String>,
        next_seed_hash: Option<String>,
    ) -> Self {
        let first = Template {
            seq: 1,
            blob: make_blob(algo, template.as_deref()),
            height,
            seed_hash: seed_hash.clone(),
            next_seed_hash: next_seed_hash.clone(),
        };
        let (tx, _) = watch::channel(Arc::new(first));
        JobSource {
            algo: algo.to_string(),
            template,
            seq: AtomicU64::new(1),
            height: AtomicU64::new(height),
            seeds: Mutex::new(Seeds {
                current: seed_hash,
                next: next_seed_hash,
            }),
            tx,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Template>> {
        self.tx.subscribe()
    }

    /// The latest template.
    pub fn current(&self) -> Arc<Template> {
        Arc::clone(&self.tx.borrow())
    }

    /// Make and publish a new template for the same block.
    pub fn next(&self) {
        self.publish_at(self.height.load(Ordering::Relaxed), None);
    }

    /// Move to the next block: a new template one height up.
    pub fn next_block(&self) {
        self.publish_at(self.height.fetch_add(1, Ordering::Relaxed) + 1, None);
    }

    /// Publish `blob` as it is, once, at the current height; later templates come from the
    /// configuration again.
    pub fn publish(&self, blob: Vec<u8>) {
        self.publish_at(self.height.load(Ordering::Relaxed), Some(blob));
    }

    /// A new RandomX epoch: this seed from now on, and a new template carrying it at once. An
    /// announced next seed that has now arrived is no longer announced.
    pub fn set_seed_hash(&self, seed_hash: Option<String>) {
        {
            let mut seeds = self.seeds();
            if seeds.next == seed_hash {
                seeds.next = None;
            }
            seeds.current = seed_hash;
        }
        self.next();
    }

    /// Announce the next epoch's seed (or stop announcing one); a new template carries it at once.
    pub fn set_next_seed_hash(&self, next: Option<String>) {
        self.seeds().next = next;
        self.next();
    }

    fn seeds(&self) -> std::sync::MutexGuard<'_, Seeds> {
        // Plain values: a panic while they were held left them whole.
        self.seeds.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish_at(&self, height: u64, blob: Option<Vec<u8>>) {
        let blob = blob.unwrap_or_else(|| make_blob(&self.algo, self.template.as_deref()));
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let (seed_hash, next_seed_hash) = {
            let seeds = self.seeds();
            (seeds.current.clone(), seeds.next.clone())
        };
        // `send_replace` publishes even when no connection is subscribed yet.
        self.tx.send_replace(Arc::new(Template {
            seq,
            blob,
            height,
            seed_hash,
            next_seed_hash,
        }));
    }
}

fn make_blob(algo: &str, template: Option<&[u8]>) -> Vec<u8> {
    match template {
        Some(t) => {
            let mut blob = t.to_vec();
            // The nonce belongs to the miner (and the NiceHash byte to the connection).
            if let Some(nonce) = blob.get_mut(NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN) {
                nonce.fill(0);
            }
            blob
        }
        None => random_hashing_blob(algo, &mut rand::rng()),
    }
}

/// A Monero hashing blob with random contents: major and minor version, timestamp (5-byte
/// varint), previous block hash, zero nonce at offset 39, merkle root, transaction count.
pub fn random_hashing_blob(algo: &str, rng: &mut impl Rng) -> Vec<u8> {
    let version = major_version(algo);
    let mut blob = Vec::with_capacity(HASHING_BLOB_LEN);
    blob.push(version);
    blob.push(version);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Any time in [2^28, 2^35) is a 5-byte varint, which keeps the nonce at offset 39.
    push_varint(&mut blob, now.clamp(1 << 28, (1 << 35) - 1));
    let mut prev = [0u8; 32];
    rng.fill(&mut prev);
    blob.extend_from_slice(&prev);
    blob.extend_from_slice(&[0; NONCE_LEN]);
    let mut merkle = [0u8; 32];
    rng.fill(&mut merkle);
    blob.extend_from_slice(&merkle);
    push_varint(&mut blob, rng.random_range(1..100));
    blob
}

/// The block major version a chain used with each algorithm (cosmetic, but realistic).
fn major_version(algo: &str) -> u8 {
    match algo {
        "cn/0" => 1,
        "cn/1" => 7,
        "cn/2" => 8,
        "cn/r" => 10,
        "rx/0" => 16,
        _ => 7,
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_blob_has_monero_layout() {
        let blob = random_hashing_blob("cn/r", &mut rand::rng());
        assert_eq!(blob.len(), HASHING_BLOB_LEN);
        assert_eq!(blob[0], 10);
        assert_eq!(&blob[NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN], &[0; 4]);
        // Timestamp varint: four continuation bytes, then a final byte.
        assert!(blob[2..6].iter().all(|b| b & 0x80 != 0) && blob[6] & 0x80 == 0);
    }

    #[test]
    fn templates_renew_and_keep_a_given_blob() {
        let mut t = vec![7u8; 80];
        t[NONCE_OFFSET] = 9;
        let src = JobSource::new("cn/0", Some(t), 7, None, None);
        let mut rx = src.subscribe();
        let first = src.current();
        assert_eq!(first.seq, 1);
        assert_eq!(first.blob[NONCE_OFFSET], 0);
        assert_eq!(first.blob.len(), 80);
        src.next();
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().seq, 2);
        assert_eq!(src.current().height, 7, "a new template of the same block");
        src.next_block();
        assert_eq!((src.current().seq, src.current().height), (3, 8));
        let random = JobSource::new("cn/0", None, 1, None, None);
        let a = random.current();
        random.next();
        assert_ne!(a.blob, random.current().blob);
        assert_eq!(random.current().seed_hash, None);
        random.set_seed_hash(Some("ab".repeat(32)));
        assert_eq!(random.current().seed_hash, Some("ab".repeat(32)));
        assert_eq!(random.current().seq, 3, "a new seed is a new template");
    }

    #[test]
    fn an_announced_next_seed_rides_every_template_until_it_arrives() {
        let (a, b) = ("aa".repeat(32), "bb".repeat(32));
        let src = JobSource::new("rx/0", None, 1, Some(a.clone()), Some(b.clone()));
        assert_eq!(src.current().next_seed_hash, Some(b.clone()));
        src.next();
        assert_eq!(src.current().next_seed_hash, Some(b.clone()));
        src.set_seed_hash(Some(b.clone()));
        let now = src.current();
        assert_eq!(
            (now.seed_hash.clone(), now.next_seed_hash.clone()),
            (Some(b), None)
        );
        src.set_next_seed_hash(Some(a.clone()));
        assert_eq!(src.current().next_seed_hash, Some(a));
        assert_eq!(src.current().seq, 4, "an announcement is a new template");
    }
}

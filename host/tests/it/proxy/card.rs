//! A raw stratum card: logs in, reads its jobs and slices, and mines shares by search.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use phirig_agent::worker::NonceRange;
use phirig_pool::protocol::{JobParams, Target, NICEHASH_BYTE_OFFSET, NONCE_OFFSET};
use phirig_pool::server::{Sha3ShareHasher, ShareHasher};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::setup::{MAX_TRIES, STEP};

pub struct Card {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    jobs: VecDeque<(JobParams, Instant)>,
    replies: HashMap<u64, Value>,
}

impl Card {
    pub async fn connect(addr: SocketAddr) -> Card {
        let stream = timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let (r, w) = stream.into_split();
        Card {
            reader: BufReader::new(r),
            writer: w,
            next_id: 1,
            jobs: VecDeque::new(),
            replies: HashMap::new(),
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            json!({"id": id, "jsonrpc": "2.0", "method": method, "params": params}).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.expect("write");
        id
    }

    /// Read one line; jobs are queued with their arrival time, replies kept by id.
    pub async fn read_one(&mut self) {
        let mut line = String::new();
        let n = timeout(STEP, self.reader.read_line(&mut line))
            .await
            .expect("proxy line in time")
            .expect("read");
        assert!(n > 0, "proxy closed the connection");
        let at = Instant::now();
        let v: Value = serde_json::from_str(&line).expect("proxy sends JSON");
        if v["method"] == "job" {
            let job: JobParams = serde_json::from_value(v["params"].clone()).expect("job params");
            self.jobs.push_back((job, at));
        } else {
            let id = v["id"].as_u64().expect("reply id");
            self.replies.insert(id, v);
        }
    }

    pub async fn reply(&mut self, id: u64) -> Value {
        for _ in 0..100 {
            if let Some(v) = self.replies.remove(&id) {
                return v;
            }
            self.read_one().await;
        }
        panic!("no reply to request {id}");
    }

    pub async fn job(&mut self) -> (JobParams, Instant) {
        for _ in 0..100 {
            if let Some(j) = self.jobs.pop_front() {
                return j;
            }
            self.read_one().await;
        }
        panic!("no job notification");
    }

    pub async fn login(&mut self, name: &str) -> JobParams {
        let params = json!({"login": name, "pass": "x", "agent": "test-card"});
        let id = self.request("login", params).await;
        let r = self.reply(id).await;
        assert_eq!(r["result"]["status"], "OK", "{r}");
        let ext = r["result"]["extensions"].to_string();
        assert!(
            ext.contains("nonce_range") && ext.contains("nicehash"),
            "{ext}"
        );
        serde_json::from_value(r["result"]["job"].clone()).expect("login result carries a job")
    }

    /// A fresh slice of the newest job (`getjob`).
    pub async fn getjob(&mut self) -> JobParams {
        let id = self.request("getjob", Value::Null).await;
        let r = self.reply(id).await;
        serde_json::from_value(r["result"].clone()).expect("getjob result is a job")
    }

    /// Submit and return the reply (`Ok(status)` or `Err(message)`).
    pub async fn submit(
        &mut self,
        job: &JobParams,
        nonce: u32,
        result: &[u8; 32],
    ) -> Result<String, String> {
        let params = json!({
            "id": "sess",
            "job_id": job.job_id,
            "nonce": hex::encode(nonce.to_le_bytes()),
            "result": hex::encode(result),
        });
        let id = self.request("submit", params).await;
        let r = self.reply(id).await;
        match r["error"].as_object() {
            Some(e) => Err(e["message"].as_str().unwrap_or_default().to_string()),
            None => Ok(r["result"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
        }
    }
}

pub fn slice_of(job: &JobParams) -> NonceRange {
    let blob = hex::decode(&job.blob).expect("blob hex");
    let [start, end] = job.nonce_range.expect("nonce_range extension");
    NonceRange::new(start, end, Some(blob[NICEHASH_BYTE_OFFSET]))
}

pub fn hash_at(hasher: &dyn ShareHasher, job: &JobParams, nonce: u32) -> [u8; 32] {
    let mut blob = hex::decode(&job.blob).expect("blob hex");
    blob[NONCE_OFFSET..NONCE_OFFSET + 4].copy_from_slice(&nonce.to_le_bytes());
    let algo = job.algo.clone().unwrap_or_default();
    hasher
        .hash(&algo, &blob, job.height.unwrap_or(0))
        .expect("hash")
}

/// The first nonce of the card's slice (from counter `start + skip`) whose hash meets
/// (`want = true`) or misses the target.
pub fn search(job: &JobParams, want: bool, skip: u64) -> (u32, [u8; 32]) {
    let range = slice_of(job);
    let target = Target::from_hex(&job.target).expect("target");
    let first = range.start() + skip;
    for counter in first..range.end().min(first + MAX_TRIES) {
        let nonce = range.nonce(counter);
        let hash = hash_at(&Sha3ShareHasher, job, nonce);
        if target.is_met_by(&hash) == want {
            return (nonce, hash);
        }
    }
    panic!("no nonce found in {MAX_TRIES} tries");
}

pub fn share(job: &JobParams) -> (u32, [u8; 32]) {
    search(job, true, 0)
}

/// Counter of a nonce inside its slice's space (low 24 bits).
pub fn counter(nonce: u32) -> u64 {
    u64::from(nonce & 0x00ff_ffff)
}

pub fn disjoint(slices: &[NonceRange]) -> bool {
    slices.iter().enumerate().all(|(i, a)| {
        slices[i + 1..].iter().all(|b| {
            a.fixed_byte() != b.fixed_byte() || a.end() <= b.start() || b.end() <= a.start()
        })
    })
}

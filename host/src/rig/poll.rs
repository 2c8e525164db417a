//! Polling every card at once: each poll is bounded by its own timeout, so one slow card never delays the others.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use crate::card_poll::CardView;

/// Polls every card concurrently (on this task) and returns when all are done; each poll is
/// bounded by `timeout`, so the whole round takes at most about that long.
pub async fn poll_all(views: &mut [CardView], http: &reqwest::Client, timeout: Duration) {
    let mut pending: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = views
        .iter_mut()
        .map(|v| Box::pin(v.poll(http, timeout)) as Pin<Box<dyn Future<Output = ()> + Send>>)
        .collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A card that answers its counters at once.
    async fn quick_card() -> String {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let body = serde_json::to_string(&phirig_wire::Counters {
            boot_id: "b".into(),
            wall_ns: 1,
            hashes_total: 7,
            ..phirig_wire::Counters::default()
        })
        .expect("counters as JSON");
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        format!("http://{addr}")
    }

    /// A card that accepts the connection and never answers.
    async fn silent_card() -> (String, TcpListener) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        (format!("http://{}", l.local_addr().expect("addr")), l)
    }

    #[tokio::test]
    async fn a_silent_card_costs_one_timeout_and_the_others_still_get_polled() {
        let (silent, _keep) = silent_card().await;
        let mut views = vec![
            CardView::new("slow", &silent, None),
            CardView::new("quick", &quick_card().await, None),
            CardView::new("slow2", &silent, None),
        ];
        let http = reqwest::Client::new();
        let t0 = Instant::now();
        poll_all(&mut views, &http, Duration::from_secs(1)).await;
        let took = t0.elapsed();
        // Concurrent: two silent cards cost one timeout, not two.
        assert!(took < Duration::from_millis(1900), "{took:?}");
        assert_eq!(views[0].error.as_deref(), Some("timed out"));
        assert_eq!(views[2].error.as_deref(), Some("timed out"));
        assert!(views[1].error.is_none(), "{:?}", views[1].error);
        assert_eq!(views[1].last.as_ref().map(|c| c.hashes_total), Some(7));
    }
}

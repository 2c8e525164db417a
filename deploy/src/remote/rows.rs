//! `phirig cards` rows with each card's agent status, checked on all cards at once.

use super::deployer::Deployer;
use crate::discovery::{Card, CardRow};
use tokio::task::JoinSet;

/// One row per card, in the order given. With `check_agent`, every card is asked for its agent
/// status concurrently; an unreachable card reads `unreachable`, other failures `error`.
pub async fn card_rows(
    deployer: &std::sync::Arc<Deployer>,
    cards: &[Card],
    check_agent: bool,
) -> Vec<CardRow> {
    if !check_agent {
        return cards.iter().map(|c| CardRow::new(c, "-")).collect();
    }
    let mut set = JoinSet::new();
    for (i, card) in cards.iter().cloned().enumerate() {
        let dep = deployer.clone();
        set.spawn(async move {
            let agent = match dep.status(&card).await {
                Ok(s) => s.summary().to_string(),
                Err(e) if e.is_unreachable() => "unreachable".to_string(),
                Err(_) => "error".to_string(),
            };
            (i, agent)
        });
    }
    let mut agents = vec!["-".to_string(); cards.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((i, agent)) = done {
            agents[i] = agent;
        }
    }
    cards
        .iter()
        .zip(agents)
        .map(|(c, a)| CardRow::new(c, a))
        .collect()
}

//! Seed switching in the background and the light verifier's cache of seeds.

use std::sync::mpsc;
use std::time::Duration;

use phirig_rx::{Epochs, LightVerifier, Lookup, RxOptions, Seed};

fn seed(b: u8) -> Seed {
    Seed([b; 32])
}

#[test]
fn a_new_seed_builds_in_the_background_then_becomes_current() {
    let epochs = Epochs::new(RxOptions::light());
    assert!(epochs.current().is_none());
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    assert!(matches!(
        epochs.get(seed(1), move |r| tx
            .send(r.map(|e| e.seed().unwrap()))
            .unwrap()),
        Lookup::Building
    ));
    // Asked again while building: no second build.
    assert!(matches!(
        epochs.get(seed(1), move |r| tx2
            .send(r.map(|e| e.seed().unwrap()))
            .unwrap()),
        Lookup::Building
    ));
    let built = rx.recv_timeout(Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!(built, seed(1));
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "built twice"
    );
    assert_eq!(epochs.current().unwrap().seed().unwrap(), seed(1));
    match epochs.get(seed(1), |_| panic!("no build for a current seed")) {
        Lookup::Ready(e) => assert!(e.is_seed(&seed(1))),
        other => panic!("current seed reported as {other:?}"),
    }
    // The next seed: the old epoch stays current until the new one is built.
    let (tx, rx) = mpsc::channel();
    epochs.get(seed(2), move |r| {
        tx.send(r.map(|e| e.seed().unwrap())).unwrap()
    });
    assert_eq!(epochs.current().unwrap().seed().unwrap(), seed(1));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)).unwrap().unwrap(),
        seed(2)
    );
    assert_eq!(epochs.current().unwrap().seed().unwrap(), seed(2));
}

#[test]
fn verifier_hashes_per_seed_and_keeps_recent_seeds() {
    let v = LightVerifier::new(2);
    let a = v.hash(seed(1), b"blob").unwrap();
    let b = v.hash(seed(2), b"blob").unwrap();
    assert_ne!(a, b, "the seed keys the hash");
    assert_eq!(v.hash(seed(1), b"blob").unwrap(), a);
    let direct = phirig_rx::Epoch::build(seed(2), &RxOptions::light())
        .unwrap()
        .vm()
        .unwrap()
        .hash(b"blob");
    assert_eq!(direct, b);
}

#[test]
fn the_next_seed_built_ahead_is_current_at_once_when_asked_for() {
    let epochs = Epochs::new(RxOptions::light());
    // Nothing current: nothing to build ahead of.
    assert!(!epochs.prebuild(seed(2), |_| {}));
    let (tx, rx) = mpsc::channel();
    epochs.get(seed(1), move |r| tx.send(r.is_ok()).unwrap());
    assert!(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    assert!(!epochs.prebuild(seed(1), |_| panic!("the current seed is not built again")));

    let (tx, rx) = mpsc::channel();
    assert!(epochs.prebuild(seed(2), move |r| tx.send(r.is_ok()).unwrap()));
    assert!(!epochs.prebuild(seed(2), |_| panic!("built ahead twice")));
    assert!(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    // Built ahead, not current: seed 1's jobs still mine on seed 1.
    assert!(epochs.is_ready_ahead(&seed(2)));
    assert!(epochs.current().unwrap().is_seed(&seed(1)));
    match epochs.get(seed(2), |_| panic!("no build for a seed built ahead")) {
        Lookup::Ready(e) => assert!(e.is_seed(&seed(2))),
        other => panic!("a seed built ahead reported as {other:?}"),
    }
    assert!(epochs.current().unwrap().is_seed(&seed(2)));
    assert!(!epochs.is_ready_ahead(&seed(2)));
}

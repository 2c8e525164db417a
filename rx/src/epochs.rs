//! A card's epochs: the current seed's memory, and the next seed's built in the background.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::epoch::Epoch;
use crate::error::RxError;
use crate::options::{Mode, RxOptions};
use crate::seed::Seed;

/// What [`Epochs::get`] found.
#[derive(Debug)]
pub enum Lookup {
    Ready(Arc<Epoch>),
    /// Being built; the callback gets it.
    Building,
    /// The building thread could not be started; the callback is never called.
    Failed(RxError),
}

/// Holds one epoch (one dataset per card) and builds a new seed's off the caller's thread.
#[derive(Debug)]
pub struct Epochs {
    options: RxOptions,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Arc<Epoch>>,
    /// Seeds whose build is under way.
    building: Vec<Seed>,
    /// The seed last asked for: only its epoch becomes current.
    wanted: Option<Seed>,
    /// A later seed's epoch built ahead (a job's `next_seed_hash`), current once asked for.
    next: Option<Arc<Epoch>>,
}

/// Called on the building thread with the built epoch (or why it failed).
type Done = Box<dyn FnOnce(Result<Arc<Epoch>, RxError>) + Send + 'static>;

/// Memory left free beside a second epoch built ahead, as full mode leaves beside its first.
const NEXT_SPARE: u64 = 512 << 20;

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is plain data updated in single statements; a panic elsewhere leaves it valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Epochs {
    pub fn new(options: RxOptions) -> Arc<Epochs> {
        Arc::new(Epochs {
            options,
            state: Mutex::new(State::default()),
        })
    }

    pub fn options(&self) -> &RxOptions {
        &self.options
    }

    /// The epoch in use, if any.
    pub fn current(&self) -> Option<Arc<Epoch>> {
        lock(&self.state).current.clone()
    }

    /// `seed`'s epoch if it is current (or was built ahead); otherwise its build starts on a
    /// background thread (once per seed) and `done` is called there with the result. The epoch
    /// becomes current only if `seed` is still the one last asked for; the old one is freed when
    /// the last VM on it is dropped.
    pub fn get(
        self: &Arc<Self>,
        seed: Seed,
        done: impl FnOnce(Result<Arc<Epoch>, RxError>) + Send + 'static,
    ) -> Lookup {
        let mut state = lock(&self.state);
        state.wanted = Some(seed);
        if let Some(next) = state.next.take_if(|e| e.is_seed(&seed)) {
            state.current = Some(next);
        }
        if let Some(e) = state.current.as_ref().filter(|e| e.is_seed(&seed)) {
            return Lookup::Ready(Arc::clone(e));
        }
        if state.building.contains(&seed) {
            return Lookup::Building;
        }
        self.spawn_build(state, seed, self.options, false, Box::new(done))
    }

    /// Builds `seed`'s epoch ahead, in the current epoch's mode, so the switch to it is instant:
    /// only when there is a current epoch, `seed` is neither current nor under way, and the
    /// free memory holds a second epoch with room to spare. `done` is called as for
    /// [`Epochs::get`] (the epoch is current then only if `seed` was asked for meanwhile).
    /// Whether a build started.
    pub fn prebuild(
        self: &Arc<Self>,
        seed: Seed,
        done: impl FnOnce(Result<Arc<Epoch>, RxError>) + Send + 'static,
    ) -> bool {
        let state = lock(&self.state);
        let Some(current) = state.current.clone() else {
            return false;
        };
        let known = |e: &Option<Arc<Epoch>>| e.as_ref().is_some_and(|e| e.is_seed(&seed));
        if known(&state.current) || known(&state.next) || state.building.contains(&seed) {
            return false;
        }
        // The next epoch in the current one's mode, so the switch changes nothing but the seed.
        let (mode, dataset) = if current.is_full() {
            (Mode::Full, crate::dataset_bytes() as u64)
        } else {
            (Mode::Light, 0)
        };
        let need = dataset + crate::CACHE_BYTES as u64 + NEXT_SPARE;
        if crate::mem_available().is_some_and(|free| free < need) {
            return false;
        }
        let options = RxOptions {
            mode,
            ..self.options
        };
        matches!(
            self.spawn_build(state, seed, options, true, Box::new(done)),
            Lookup::Building
        )
    }

    /// Whether `seed`'s epoch was built ahead and waits to be asked for.
    pub fn is_ready_ahead(&self, seed: &Seed) -> bool {
        lock(&self.state)
            .next
            .as_ref()
            .is_some_and(|e| e.is_seed(seed))
    }

    /// Starts building `seed` on a background thread (`state` is this one's, locked). Unless
    /// built `ahead`, an epoch no longer wanted when done is dropped (with its 2 GiB).
    fn spawn_build(
        self: &Arc<Self>,
        mut state: MutexGuard<'_, State>,
        seed: Seed,
        options: RxOptions,
        ahead: bool,
        done: Done,
    ) -> Lookup {
        state.building.push(seed);
        drop(state);
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("rx-dataset".into())
            .spawn(move || {
                let result = Epoch::build(seed, &options);
                {
                    let mut state = lock(&me.state);
                    state.building.retain(|s| *s != seed);
                    if let Ok(epoch) = &result {
                        if state.wanted == Some(seed) {
                            state.current = Some(Arc::clone(epoch));
                        } else if ahead {
                            state.next = Some(Arc::clone(epoch));
                        }
                    }
                }
                done(result);
            })
            .map_or_else(
                |e| {
                    lock(&self.state).building.retain(|s| *s != seed);
                    Lookup::Failed(RxError::Spawn(e.to_string()))
                },
                |_| Lookup::Building,
            )
    }
}

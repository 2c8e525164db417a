//! A card's epochs: the current seed's memory, and the next seed's built in the background.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::epoch::Epoch;
use crate::error::RxError;
use crate::options::RxOptions;
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
}

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

    /// `seed`'s epoch if it is current; otherwise its build starts on a background thread
    /// (once per seed) and `done` is called there with the result. The epoch becomes current
    /// only if `seed` is still the one last asked for; the old one is freed when the last VM
    /// on it is dropped.
    pub fn get(
        self: &Arc<Self>,
        seed: Seed,
        done: impl FnOnce(Result<Arc<Epoch>, RxError>) + Send + 'static,
    ) -> Lookup {
        let mut state = lock(&self.state);
        state.wanted = Some(seed);
        if let Some(e) = state.current.as_ref().filter(|e| e.is_seed(&seed)) {
            return Lookup::Ready(Arc::clone(e));
        }
        if state.building.contains(&seed) {
            return Lookup::Building;
        }
        state.building.push(seed);
        drop(state);
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("rx-dataset".into())
            .spawn(move || {
                let result = Epoch::build(seed, &me.options);
                {
                    let mut state = lock(&me.state);
                    state.building.retain(|s| *s != seed);
                    if let (Ok(epoch), Some(true)) = (&result, state.wanted.map(|w| w == seed)) {
                        state.current = Some(Arc::clone(epoch));
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

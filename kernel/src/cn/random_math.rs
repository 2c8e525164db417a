//! The bridge to cn/r's per-height random program (`crate::cnr`), as the main loop calls it.

use std::sync::Arc;

use crate::cnr::{program_for_height, Program, Runner};

/// A generated cn/r program for one height, or nothing for the other algorithms.
#[derive(Debug, Default, Clone)]
pub(crate) struct RandomProgram {
    height: u64,
    program: Option<Arc<Program>>,
}

impl RandomProgram {
    /// The program for algorithms without random math; never run.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// The program for `height`, from the shared per-height cache.
    pub(crate) fn for_height(height: u64) -> Self {
        Self {
            height,
            program: Some(program_for_height(height)),
        }
    }

    pub(crate) fn height(&self) -> u64 {
        self.height
    }

    /// The program resolved for the main loop (None for the algorithms without random math).
    /// Its `run` works on `r`: r[0..4] are the program's registers, r[4..9] its read-only inputs.
    #[inline(always)]
    pub(crate) fn runner(&self) -> Option<Runner<'_>> {
        self.program.as_deref().map(Program::runner)
    }
}

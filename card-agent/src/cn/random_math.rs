//! The bridge to cn/r's per-height random program (`crate::cnr`), as the main loop calls it.

use super::error::KernelError;

/// A generated cn/r program for one height, or nothing for the other algorithms.
#[derive(Debug, Default)]
pub(crate) struct RandomProgram {
    height: u64,
}

impl RandomProgram {
    /// The program for algorithms without random math; never run.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// Generates (or fetches) the program for `height`.
    pub(crate) fn for_height(height: u64) -> Result<Self, KernelError> {
        let _ = height;
        Err(KernelError::RandomMathUnavailable)
    }

    pub(crate) fn height(&self) -> u64 {
        self.height
    }

    /// Runs the program on `r`: r[0..4] are its registers, r[4..9] its read-only inputs.
    #[inline(always)]
    pub(crate) fn run(&self, r: &mut [u32; 9]) {
        let _ = r;
    }
}

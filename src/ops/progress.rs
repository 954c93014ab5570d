//! How far a command over many repositories has got, for a front end to show.

/// Told each time one more repository of a many-GUN command is done, so a front end can draw
/// a progress bar. Takes `&self` because steps may finish on several threads.
pub trait Tally: Sync {
    fn advance(&self, done: usize, total: usize);
}

/// Shows nothing: for scripts, tests and front ends without a terminal.
pub struct NoTally;

impl Tally for NoTally {
    fn advance(&self, _done: usize, _total: usize) {}
}

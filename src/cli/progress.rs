//! A spinner on stderr while slow work runs (RSA key generation), so an operator at the
//! terminal sees that airlock is working rather than hung. Scripts and logs get nothing:
//! the spinner draws only when stderr is a terminal.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::ops::keys::Progress;

const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
const FRAME_TIME: Duration = Duration::from_millis(120);
/// Erases the current terminal line: carriage return, then ANSI "erase entire line".
const CLEAR_LINE: &str = "\r\x1b[2K";

/// Draws `what… |/-\` on stderr from a thread between `start` and `finish`.
#[derive(Default)]
pub struct Spinner {
    running: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Progress for Spinner {
    fn start(&mut self, what: &str) {
        if self.running.is_some() || !io::stderr().is_terminal() {
            return;
        }
        let (stop, stopped) = mpsc::channel();
        let what = what.to_string();
        let handle = thread::spawn(move || spin(&what, &stopped));
        self.running = Some((stop, handle));
    }

    fn finish(&mut self) {
        if let Some((stop, handle)) = self.running.take() {
            // A thread that already stopped has closed the channel; nothing is lost then.
            let _ = stop.send(());
            let _ = handle.join();
        }
    }
}

impl Drop for Spinner {
    /// Cleans the line up even when the work fails or panics.
    fn drop(&mut self) {
        self.finish();
    }
}

/// Redraws the line every frame until told to stop, then erases it.
fn spin(what: &str, stopped: &mpsc::Receiver<()>) {
    let mut stderr = io::stderr();
    for frame in FRAMES.iter().cycle() {
        let _ = write!(stderr, "\r{what}… {frame}");
        let _ = stderr.flush();
        // A message or a closed channel (the spinner was dropped) both mean stop.
        if !matches!(stopped.recv_timeout(FRAME_TIME), Err(RecvTimeoutError::Timeout)) {
            break;
        }
    }
    let _ = write!(stderr, "{CLEAR_LINE}");
    let _ = stderr.flush();
}

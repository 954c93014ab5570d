//! A spinner on stderr while slow work runs (RSA key generation), so an operator at the
//! terminal sees that airlock is working rather than hung. Scripts and logs get nothing:
//! the spinner draws only when stderr is a terminal.

use std::io::{self, IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::ops::keys::Progress;
use crate::ops::progress::Tally;

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

/// A progress bar on stderr while a command works through many repositories, erased when
/// dropped. Draws only on a terminal, never with `--json` or `--quiet`, and not for one
/// repository.
pub struct Bar {
    what: &'static str,
    draw: bool,
    drawn: std::sync::atomic::AtomicBool,
}

impl Bar {
    pub fn new(what: &'static str, quiet: bool) -> Bar {
        let draw = !quiet && io::stderr().is_terminal();
        Bar { what, draw, drawn: std::sync::atomic::AtomicBool::new(false) }
    }
}

impl Tally for Bar {
    fn advance(&self, done: usize, total: usize) {
        if !self.draw || total < 2 {
            return;
        }
        let mut stderr = io::stderr().lock();
        // A full bar is erased at once: what comes next (a passphrase prompt, the report)
        // starts on a clean line.
        if done >= total {
            let _ = write!(stderr, "{CLEAR_LINE}");
            let _ = stderr.flush();
            self.drawn.store(false, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let _ = write!(stderr, "{CLEAR_LINE}{}", bar_line(self.what, done, total));
        let _ = stderr.flush();
        self.drawn.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if self.drawn.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = write!(io::stderr(), "{CLEAR_LINE}");
        }
    }
}

/// `what [#####-----] done/total`.
fn bar_line(what: &str, done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done.min(total) * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!("{what} [{}{}] {done}/{total}", "#".repeat(filled), "-".repeat(WIDTH - filled))
}

/// `what n/total` on stderr while many repositories are worked on, redrawn as each one
/// finishes; per-item lines go through [`Counter::say`] so they do not tear it. Draws only
/// on a terminal, and never with `--json` or `--quiet`.
#[cfg(feature = "online")]
pub struct Counter {
    what: &'static str,
    total: usize,
    done: std::sync::Mutex<usize>,
    draw: bool,
}

#[cfg(feature = "online")]
impl Counter {
    pub fn new(what: &'static str, total: usize, quiet: bool) -> Counter {
        let draw = !quiet && total > 1 && io::stderr().is_terminal();
        Counter { what, total, done: std::sync::Mutex::new(0), draw }
    }

    /// One item finished, with its line for people.
    pub fn say(&self, line: &str) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        let mut stderr = io::stderr().lock();
        if self.draw {
            let _ = write!(stderr, "{CLEAR_LINE}");
        }
        let _ = writeln!(stderr, "{line}");
        if self.draw && *done < self.total {
            let _ = write!(stderr, "{}", bar_line(self.what, *done, self.total));
        }
        let _ = stderr.flush();
    }
}

/// Runs `work` on every item with up to `jobs` threads; results come back in item order.
#[cfg(feature = "online")]
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: std::sync::Mutex<Vec<Option<R>>> =
        std::sync::Mutex::new(items.iter().map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = work(item);
                slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|e| e.into_inner());
    slots.into_iter().map(|r| r.expect("every item was worked on")).collect()
}

/// Runs `work` with up to `jobs` threads on the items `produce` hands to its sender, as they
/// come: at most `jobs` items wait at a time, so memory stays bounded however many there are.
/// Returns what `produce` returned and the results, in the order they finished.
#[cfg(feature = "online")]
pub fn in_pipeline<T: Send, R: Send, P>(
    jobs: usize,
    produce: impl FnOnce(&mut dyn FnMut(T)) -> P,
    work: impl Fn(T) -> R + Sync,
) -> (P, Vec<R>) {
    let jobs = jobs.max(1);
    let (sender, receiver) = mpsc::sync_channel::<T>(jobs);
    // Each worker holds the receiver, so once every worker is gone (even by a panic) sending
    // fails rather than blocking, and the scope passes the panic on.
    let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
    let results = std::sync::Mutex::new(Vec::new());

    let produced = thread::scope(|scope| {
        for _ in 0..jobs {
            let receiver = receiver.clone();
            let (work, results) = (&work, &results);
            scope.spawn(move || loop {
                let next = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok(item) = next else { break };
                let result = work(item);
                results.lock().unwrap_or_else(|e| e.into_inner()).push(result);
            });
        }
        drop(receiver);
        // Workers stop once the sender is gone and the queue is empty.
        let sender = sender;
        produce(&mut |item| {
            // Fails only when every worker died; the scope then reports why.
            let _ = sender.send(item);
        })
    });
    (produced, results.into_inner().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(all(test, feature = "online"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn pipeline_works_every_item_and_bounds_the_queue() {
        let (jobs, waiting, most) = (3, AtomicUsize::new(0), AtomicUsize::new(0));
        let (produced, mut results) = in_pipeline(
            jobs,
            |send| {
                for i in 0..200u32 {
                    let now = waiting.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    send(i);
                }
                "done"
            },
            |i| {
                waiting.fetch_sub(1, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(50));
                i * 2
            },
        );

        assert_eq!(produced, "done");
        results.sort_unstable();
        assert_eq!(results, (0..200).map(|i| i * 2).collect::<Vec<_>>());
        // Queued items plus one in each worker's hands, plus the one being sent.
        assert!(most.load(Ordering::SeqCst) <= 2 * jobs + 1, "{most:?}");
    }

    #[test]
    fn pipeline_passes_a_worker_panic_on_instead_of_hanging() {
        let outcome = std::panic::catch_unwind(|| {
            in_pipeline(1, |send| (0..50).for_each(send), |_: i32| panic!("worker"))
        });
        assert!(outcome.is_err());
    }
}

#[cfg(test)]
mod bar_tests {
    use super::bar_line;

    #[test]
    fn bar_fills_with_the_work_done() {
        assert_eq!(bar_line("x", 0, 4), format!("x [{}] 0/4", "-".repeat(30)));
        assert_eq!(bar_line("x", 2, 4), format!("x [{}{}] 2/4", "#".repeat(15), "-".repeat(15)));
        assert_eq!(bar_line("x", 4, 4), format!("x [{}] 4/4", "#".repeat(30)));
        // More done than planned, or nothing planned, still draws a whole bar.
        assert_eq!(bar_line("x", 5, 4), format!("x [{}] 5/4", "#".repeat(30)));
        assert_eq!(bar_line("x", 0, 0), format!("x [{}] 0/0", "#".repeat(30)));
    }
}

//! Ctrl-C and SIGTERM set a flag instead of ending the process at once, so
//! that the polling loops return an error and every Drop guard (daemons,
//! namespaces) runs on the way out.

use anyhow::{Result, bail};
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Registers the handlers now (a signal from here on is caught) and waits
/// for them on a thread.
pub fn install() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term) = {
        let _guard = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    std::thread::spawn(move || {
        rt.block_on(async {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("interrupted: tearing down");
        INTERRUPTED.store(true, Ordering::SeqCst);
    });
    Ok(())
}

/// An error once a signal arrived.
pub fn check() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps, then checks for a signal.
pub fn sleep(d: std::time::Duration) -> Result<()> {
    std::thread::sleep(d);
    check()
}

//! A daemon whose process id the bench needs (for its peak RSS), killed and
//! reaped on drop. `ip netns exec` execs the program in place, so the child
//! is the daemon itself.

use anyhow::{Context, Result};
use std::process::{Child, Command, Stdio};

pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command) -> Result<Proc> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Proc {
            name: name.into(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Peak resident set size (VmHWM) in bytes, while the process lives.
    pub fn peak_rss(&self) -> Option<u64> {
        status_bytes(self.pid(), "VmHWM:")
    }

    /// Resident set size now (VmRSS) in bytes.
    pub fn rss(&self) -> Option<u64> {
        status_bytes(self.pid(), "VmRSS:")
    }
}

/// A "kB" field of /proc/PID/status, in bytes.
fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

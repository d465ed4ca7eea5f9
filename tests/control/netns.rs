//! A Linux network namespace joined to this test's namespace by two veth pairs, so that
//! processes run inside it can be cut off and healed: the **cluster** link carries traffic
//! between the processes inside and those outside (`ip link set ... down` cuts it), the
//! **access** link lets the test itself reach the processes inside while the cluster link is
//! down. Needs root and the `ip` command; without them every test using it fails, naming why.
//! Everything it creates is deleted when it is dropped.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One namespace and its two links.
pub struct Netns {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
    /// The outside end of the cluster link.
    cluster_link: String,
    /// The address outside processes bind (the outside end of the cluster link).
    pub outside: Ipv4Addr,
    /// The address inside processes are reached at over the cluster link.
    pub inside: Ipv4Addr,
    /// The address the test reaches inside processes at over the access link.
    pub access: Ipv4Addr,
}

/// Runs `ip args...`, panicking with its error and what the tests need when it fails.
fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("partition tests need the `ip` command (iproute2) and root: cannot run ip: {e}")
    });
    assert!(
        output.status.success(),
        "partition tests need root and network namespaces: `ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

impl Netns {
    /// Creates a namespace with loopback up, a cluster link (`outside` ↔ `inside`, a /30) and
    /// an access link (a /30 of its own), both up.
    pub fn create() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tag = format!("r{}n{n}", pid % 100_000);
        let name = format!("redoubt-{tag}");
        // 10.X.Y.0/30 for the cluster link and 10.X.(Y+128).0/30 for access, X and Y from the
        // process and the count, so concurrent test processes rarely meet.
        let x = (pid % 200 + 20) as u8;
        let y = (n % 64 * 2) as u8;
        let outside = Ipv4Addr::new(10, x, y, 1);
        let inside = Ipv4Addr::new(10, x, y, 2);
        let access_outside = Ipv4Addr::new(10, x, y + 128, 1);
        let access = Ipv4Addr::new(10, x, y + 128, 2);
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let netns = Netns {
            name: name.clone(),
            cluster_link: format!("{tag}c"),
            outside,
            inside,
            access,
        };
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        for (link, near, far) in [("c", outside, inside), ("a", access_outside, access)] {
            let out_end = format!("{tag}{link}");
            let in_end = format!("{tag}{link}i");
            ip(&[
                "link", "add", &out_end, "type", "veth", "peer", "name", &in_end, "netns", &name,
            ]);
            ip(&["addr", "add", &format!("{near}/30"), "dev", &out_end]);
            ip(&[
                "-n",
                &name,
                "addr",
                "add",
                &format!("{far}/30"),
                "dev",
                &in_end,
            ]);
            ip(&["link", "set", &out_end, "up"]);
            ip(&["-n", &name, "link", "set", &in_end, "up"]);
        }
        netns
    }

    /// Cuts the cluster link: nothing passes between inside and outside processes.
    pub fn cut(&self) {
        ip(&["link", "set", &self.cluster_link, "down"]);
    }

    /// Restores the cluster link.
    pub fn heal(&self) {
        ip(&["link", "set", &self.cluster_link, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys the veth ends inside it, and with them their peers.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

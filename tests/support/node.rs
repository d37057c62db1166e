//! A real single-node Kubernetes cluster (`scripts/control-plane.sh node`): containerd,
//! kubelet, kube-proxy and CoreDNS in a network namespace of its own, torn down on drop (and
//! by the script's watchdog if this process dies). Needs root. Everything in-cluster is
//! reached from inside that namespace (`exec`), never from the root namespace; the API
//! server also through a loopback forwarder (`client`).
//!
//! Also the host snapshot the tests compare before and after a node, to prove it leaves the
//! root namespace and the host's settings as they were.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::{cached_bins, k8s_bins, repo};

/// The folder holding the node binaries (kubelet, kube-proxy, CoreDNS, pause).
pub fn node_bins() -> PathBuf {
    cached_bins("node-bins.sh", "node")
}

/// A running node.
pub struct Node {
    dir: Option<tempfile::TempDir>,
    /// The kubeconfig for clients inside the namespace (`exec`).
    pub kubeconfig: PathBuf,
    /// The kubeconfig for clients in the root namespace, through the loopback forwarder.
    pub host_kubeconfig: PathBuf,
    /// The network namespace's name (`/run/netns/<netns>`).
    pub netns: String,
    pub bins: PathBuf,
}

impl Node {
    pub fn start() -> Self {
        let bins = k8s_bins();
        node_bins();
        let dir = tempfile::Builder::new()
            .prefix("syncline-node-")
            .tempdir()
            .unwrap();
        let cp = dir.path().join("cp");
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(repo().join("scripts/control-plane.sh"))
            .arg("node")
            .arg(&cp)
            .arg(std::process::id().to_string())
            .output()
            .expect("running scripts/control-plane.sh node");
        assert!(
            out.status.success(),
            "the node did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "node up in {:.1} s (namespace, certificates, containerd, control plane, kubelet, kube-proxy, CoreDNS)",
            started.elapsed().as_secs_f64()
        );
        let kubeconfig = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let netns = std::fs::read_to_string(cp.join("netns"))
            .unwrap()
            .trim()
            .to_string();
        Self {
            host_kubeconfig: cp.join("kubeconfig-host"),
            kubeconfig,
            netns,
            bins,
            dir: Some(dir),
        }
    }

    /// The folder control-plane.sh keeps the node's state, logs and sockets in.
    pub fn cp_dir(&self) -> PathBuf {
        self.dir.as_ref().expect("node stopped").path().join("cp")
    }

    pub fn containerd_socket(&self) -> PathBuf {
        self.cp_dir().join("containerd/containerd.sock")
    }

    /// A client in the root namespace, through the loopback forwarder.
    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.host_kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// Runs `cmd` inside the node's network namespace, names resolved by its cluster DNS.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        exec_in(&self.cp_dir(), cmd)
    }

    /// The real kubectl, inside the namespace; returns (success, stdout, stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let kubectl = self.bins.join("kubectl");
        let kubeconfig = self.kubeconfig.display().to_string();
        let mut cmd = vec![kubectl.to_str().unwrap(), "--kubeconfig", &kubeconfig];
        cmd.extend_from_slice(args);
        let out = self.exec(&cmd);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `ctr` against the node's containerd, namespace k8s.io.
    pub fn ctr(&self, args: &[&str]) -> String {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(self.containerd_socket())
            .args(["-n", "k8s.io"])
            .args(args)
            .output()
            .expect("running ctr");
        assert!(
            out.status.success(),
            "ctr {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The host PID of a running container (`containerd://<id>` from the pod's status).
    pub fn container_pid(&self, container_id: &str) -> u32 {
        let id = container_id.trim_start_matches("containerd://");
        let tasks = self.ctr(&["tasks", "ls"]);
        tasks
            .lines()
            .skip(1)
            .find_map(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                (cols.first() == Some(&id)).then(|| cols[1].parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no task {id} in:\n{tasks}"))
    }

    /// Tears the node down now (the snapshot checks run after this).
    pub fn stop(mut self) {
        let started = Instant::now();
        self.down();
        println!("node down in {:.1} s", started.elapsed().as_secs_f64());
    }

    fn down(&mut self) {
        if let Some(dir) = self.dir.take() {
            let status = Command::new("bash")
                .arg(repo().join("scripts/control-plane.sh"))
                .arg("down")
                .arg(dir.path().join("cp"))
                .status();
            assert!(
                matches!(status, Ok(s) if s.success()) || std::thread::panicking(),
                "control-plane.sh down failed: {status:?}"
            );
        }
    }
}

/// `Node::exec` for the node whose folder is `cp_dir`, from threads that do not own it.
pub fn exec_in(cp_dir: &Path, cmd: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/control-plane.sh"))
        .arg("exec")
        .arg(cp_dir)
        .args(cmd)
        .output()
        .expect("running control-plane.sh exec")
}

impl Drop for Node {
    fn drop(&mut self) {
        self.down();
    }
}

/// The host's kubelet-owned sysctls and the root namespace's network state, as text.
#[derive(Debug, PartialEq, Eq)]
pub struct HostSnapshot {
    /// (command, output) for `ip addr`, routes, rules, iptables and nft.
    pub network: Vec<(String, String)>,
    /// The sysctls kubelet may set, and the root namespace's forwarding and conntrack ones.
    pub sysctls: Vec<(String, String)>,
    /// Every mount point with its type, sorted.
    pub mounts: Vec<String>,
    /// Cgroup folders named like a node's (`syncline-*`) or kubelet's default `kubepods`.
    pub cgroups: Vec<String>,
}

pub const KUBELET_SYSCTLS: [&str; 6] = [
    "kernel/panic",
    "kernel/panic_on_oops",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

fn run(cmd: &[&str]) -> String {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // iptables-save stamps a time in its comment lines; nothing else is dropped.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn has(cmd: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(cmd).exists())
}

pub fn host_snapshot() -> HostSnapshot {
    let mut cmds: Vec<Vec<&str>> = vec![
        vec!["ip", "addr"],
        vec!["ip", "route"],
        vec!["ip", "-6", "route"],
        vec!["ip", "rule"],
        vec!["iptables-save"],
        vec!["ip6tables-save"],
    ];
    if has("nft") {
        cmds.push(vec!["nft", "list", "ruleset"]);
    }
    let network = cmds
        .iter()
        .map(|c| (c.join(" "), run(c)))
        .collect::<Vec<_>>();
    let mut names: Vec<&str> = KUBELET_SYSCTLS.to_vec();
    names.extend([
        "net/ipv4/ip_forward",
        "net/ipv4/conf/all/route_localnet",
        "net/bridge/bridge-nf-call-iptables",
        "net/netfilter/nf_conntrack_max",
    ]);
    let sysctls = names
        .iter()
        .filter_map(|n| {
            std::fs::read_to_string(Path::new("/proc/sys").join(n))
                .ok()
                .map(|v| (n.to_string(), v.trim().to_string()))
        })
        .collect();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut mounts: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            Some(format!("{} {}", fields.get(4)?, fields.get(dash + 1)?))
        })
        .collect();
    mounts.sort();
    let mut cgroups = Vec::new();
    for entry in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for child in std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = child.file_name().to_string_lossy().into_owned();
            if child.path().is_dir() && (name.starts_with("syncline-") || name == "kubepods") {
                cgroups.push(child.path().display().to_string());
            }
        }
    }
    cgroups.sort();
    HostSnapshot {
        network,
        sysctls,
        mounts,
        cgroups,
    }
}

/// Host paths a node may create outside its folder; each must be as it was after `down`.
pub const HOST_PATHS: [&str; 11] = [
    "/run/netns",
    "/run/containerd",
    "/run/syncline-node",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/opt/containerd",
    "/opt/cni",
    "/etc/cni",
];

pub fn host_paths() -> Vec<(String, bool)> {
    HOST_PATHS
        .iter()
        .map(|p| (p.to_string(), Path::new(p).exists()))
        .collect()
}

/// Holds the machine's other real-node host checks off until dropped: a node elsewhere on
/// the machine (another checkout's CI) coming up or down meanwhile would change the mounts,
/// host paths and sysctls the snapshot compares. Waits up to 15 minutes for the lock.
pub fn host_checks_exclusive() -> std::fs::File {
    let path = std::env::temp_dir().join("syncline-real-node-host-checks.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let started = Instant::now();
    for _ in 0..900 {
        match file.try_lock() {
            Ok(()) => {
                if started.elapsed().as_secs() > 0 {
                    println!(
                        "waited {:.0} s for another real-node test on this machine",
                        started.elapsed().as_secs_f64()
                    );
                }
                return file;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_secs(1))
            }
            Err(e) => panic!("locking {}: {e}", path.display()),
        }
    }
    panic!(
        "another real-node test held {} for 15 minutes",
        path.display()
    );
}

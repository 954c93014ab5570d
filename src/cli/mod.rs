//! The `airlock` command line: argument definitions, dispatch, output and exit codes.
//!
//! Data goes to stdout (tables, or JSON with `--json`); everything meant for people goes to
//! stderr. Exit codes: 0 success, 1 input refused (verification failed, a rule broken),
//! 2 could not run (usage, I/O).

mod audit;
mod exchange;
mod keys;
#[cfg(feature = "online")]
mod online;
mod output;
mod progress;
mod record;
mod run;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use run::main;

#[derive(Parser, Debug)]
#[command(
    name = "airlock",
    version,
    about = "Offline key ceremonies for Notary / Docker Content Trust"
)]
pub struct Cli {
    /// The home holding trusted metadata, pending changes and the key store.
    #[arg(long, global = true, env = "AIRLOCK_HOME")]
    pub home: Option<PathBuf>,

    /// Print data as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress display on stderr (it shows only on a terminal anyway).
    #[arg(long, global = true)]
    pub quiet: bool,

    /// Who runs the command, for the audit log (default: the login name).
    #[arg(long, global = true, env = "AIRLOCK_OPERATOR")]
    pub operator: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the signed metadata of GUNs from a Notary server into a pull bundle (online).
    #[cfg(feature = "online")]
    Pull(PullArgs),
    /// Verify a pull bundle and record it as this home's trusted state.
    Import(ImportArgs),
    /// Manage the private keys in the key store.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Stage a new repository's first root: this home's new root key, plus one certificate
    /// per other custodian (`key generate NAME --root GUN`) for a k-of-n root.
    Init {
        gun: String,
        /// Another custodian's root certificate. Repeatable.
        #[arg(long = "root-cert", value_name = "FILE")]
        root_certs: Vec<PathBuf>,
        /// How many root keys root lists in all (a check: this home's plus the --root-cert
        /// files).
        #[arg(long)]
        root_keys: Option<usize>,
        /// How many root keys must sign each root (K of N). Default 1.
        #[arg(long)]
        threshold: Option<i64>,
    },
    /// Manage signers (delegation keys in targets/releases and targets/<name>).
    #[command(subcommand)]
    Signer(SignerCommand),
    /// Inspect delegations.
    #[command(subcommand)]
    Delegation(DelegationCommand),
    /// Re-sign roles unchanged (version + 1, new expiry), e.g. to make targets/releases valid
    /// again after a signer's key was removed.
    Witness {
        /// The repository (with --all, the first role instead).
        gun: String,
        #[arg(required_unless_present = "all")]
        roles: Vec<String>,
        /// Every repository in the home that has the roles; all arguments are roles then.
        #[arg(long)]
        all: bool,
        /// Also witness a role that no key this home knows of has signed, vouching for its
        /// content. Dangerous: check it with `airlock inspect` first.
        #[arg(long)]
        trust_content: bool,
    },
    /// Show signed tags, signers and keys as `docker trust inspect` does (JSON, or the
    /// `--pretty` text), from this home's signed metadata; pending changes are not shown.
    Inspect {
        /// Repositories, each GUN or GUN:TAG (or --all).
        #[command(flatten)]
        repos: Repos,
        /// Print docker's human-friendly layout instead of JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// List when each role and root certificate expires; exits 1 when something expires
    /// within the window, so a scheduled job can alert.
    Expiry {
        /// GUNs to show; all when none are given.
        guns: Vec<String>,
        /// The warning window in days.
        #[arg(long, default_value_t = 90)]
        within: i64,
    },
    /// Stage a re-sign of every role that expires within the window and that this home can
    /// sign (root, targets, delegations, an offline snapshot), and new certificates for root
    /// keys whose certificate expires; `export` then signs them, one version step each.
    Renew {
        #[command(flatten)]
        repos: Repos,
        /// The window in days: what expires sooner (or has expired) is renewed.
        #[arg(long, default_value_t = 90)]
        within: i64,
    },
    /// Show pending changes and unconfirmed exports per GUN.
    Status(StatusArgs),
    /// Sign pending changes and write a response bundle.
    Export(ExportArgs),
    /// Add this custodian's root signatures to a response bundle (k-of-n root), after
    /// checking it against this home and showing what the root changes.
    Sign {
        /// A response bundle whose root lacks signatures.
        bundle: PathBuf,
        /// The bundle to write, with the signatures added (must not exist).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Do not ask for confirmation (the changes are still shown).
        #[arg(long)]
        yes: bool,
    },
    /// Upload a response bundle to a Notary server (online).
    #[cfg(feature = "online")]
    Push(PushArgs),
    /// Not in this build: the offline signer has no network code.
    #[cfg(not(feature = "online"))]
    #[command(hide = true)]
    Pull {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Not in this build: the offline signer has no network code.
    #[cfg(not(feature = "online"))]
    #[command(hide = true)]
    Push {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Delete all trust data of a GUN on a Notary server (online; needs --remote).
    #[cfg(feature = "online")]
    Delete(DeleteArgs),
    /// Not in this build: the offline signer has no network code.
    #[cfg(not(feature = "online"))]
    #[command(hide = true)]
    Delete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Drop a GUN's trusted metadata and pending changes from this home (keys stay).
    Forget {
        gun: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Work with bundle files.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Split a stored private key, encrypted under a new backup passphrase, into K-of-N
    /// Shamir shares, each a printable page (SVG), a QR image (PNG) and a text form in DIR.
    Backup(BackupArgs),
    /// Rebuild a key from K shares of a paper backup (PNG, SVG or text files), ask for the
    /// backup passphrase, and store the key in the home at --out-home (created if needed).
    Restore {
        /// The home whose key store receives the key.
        #[arg(long = "out-home", value_name = "DIR")]
        out_home: PathBuf,
        /// Share files: share-i-of-N.png (or a scan of the page as PNG), .svg or .txt.
        #[arg(required = true, value_name = "SHARE")]
        shares: Vec<PathBuf>,
    },
    /// The home's audit log: verify it, show it, or write a ceremony report.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the log's hash chain and signed heads (the home's, or a response bundle's
    /// ceremony record, or a copy of a log file); names the first bad entry, exit 1.
    Verify {
        /// A response bundle or a log file; the home's log when not given.
        file: Option<PathBuf>,
    },
    /// List the log's entries.
    Show {
        /// Only entries at or after this UTC time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only entries about this GUN.
        #[arg(long)]
        gun: Option<String>,
    },
    /// Write a ceremony report for an auditor: who, when, which keys, which repositories
    /// changed how, and whether the log verifies.
    Report {
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        gun: Option<String>,
        /// Write to this file (must not exist) instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
}

/// The formats `audit report` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Html,
}

/// The repositories a fleet command works on: the GUNs given, or `--all`.
#[derive(Args, Debug)]
pub struct Repos {
    /// Repositories (GUNs).
    #[arg(required_unless_present = "all")]
    pub guns: Vec<String>,
    /// Every repository in the home this applies to.
    #[arg(long, conflicts_with = "guns")]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The key ID as `key list` shows it, or a unique prefix of 8 or more hex digits.
    pub key_id: String,
    /// N: how many shares to make, 2 to 255.
    #[arg(long, value_name = "N")]
    pub shares: u32,
    /// K: how many shares rebuild the key, 2 to N.
    #[arg(long, value_name = "K")]
    pub threshold: u32,
    /// The directory for the pages; must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Notary server URL, e.g. https://notary.example.com:4443.
    #[arg(long)]
    pub server: String,
    /// CA certificate (PEM) to trust for an https server.
    #[arg(long)]
    pub tlscacert: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Repositories to pull, e.g. example.com/team/app.
    #[arg(required = true)]
    pub guns: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// The pull bundle to write (must not exist).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Have the server make a new key for this role (snapshot or timestamp) and carry it in
    /// the bundle; offline, `airlock key rotate GUN ROLE --server-managed` puts it in root.
    /// The old key stays in use until that root is pushed.
    #[arg(long, value_name = "ROLE")]
    pub rotate_server_key: Vec<String>,
    /// How many repositories to fetch at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A pull bundle.
    pub bundle: PathBuf,
    /// Require the root to be signed by this key (TUF or canonical ID): on first sight of a
    /// GUN instead of trusting it on first use, and on every later import too.
    #[arg(long = "root-keyid")]
    pub root_keyid: Option<String>,
    /// Accept expired metadata, to recover a repository that has expired. Dangerous: an
    /// attacker can replay old metadata.
    #[arg(long)]
    pub allow_expired: bool,
    /// Verify the bundle against this home's trust exactly as import does, and change
    /// nothing: no state, no home created, no audit record.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a delegation key (ECDSA P-256, or RSA); the public PEM goes to DIR/NAME.pub.
    Generate {
        name: String,
        /// The key type: ecdsa (P-256, what Notary makes) or rsa.
        #[arg(long = "type", value_enum, default_value_t = KeyTypeArg::Ecdsa)]
        key_type: KeyTypeArg,
        /// RSA key size in bits, 2048 to 8192 (default 2048).
        #[arg(long)]
        bits: Option<usize>,
        /// Make a root key for this GUN instead (one custodian's share of a k-of-n root):
        /// its root certificate goes to DIR/NAME.crt for `airlock init --root-cert`.
        #[arg(long, value_name = "GUN", conflicts_with_all = ["key_type", "bits"])]
        root: Option<String>,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Load a private key file (openssl, notary or docker) into the key store.
    Load {
        file: PathBuf,
        /// The signer this key belongs to (a delegation key); without it the file's `role:`
        /// header decides.
        #[arg(long)]
        name: Option<String>,
    },
    /// Replace the key root lists for a base role (staged; root is re-signed by the old and
    /// the new keys at export). root: a new key and certificate, or --key; targets: a new
    /// key; snapshot: a new key held here (airlock then signs snapshots), or with
    /// --server-managed the key `pull --rotate-server-key` brought.
    Rotate {
        gun: String,
        /// root, targets, snapshot or timestamp.
        role: String,
        /// root: rotate to this stored root key (its ID or a unique prefix) with a new
        /// certificate; the current key again renews its certificate.
        #[arg(long)]
        key: Option<String>,
        /// snapshot or timestamp: the server holds the new key.
        #[arg(long)]
        server_managed: bool,
    },
    /// List the keys in the key store.
    List,
    /// Remove a private key from the key store, after confirmation.
    Remove {
        /// The key ID as `key list` shows it, or a unique prefix of 8 or more hex digits.
        key_id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// With --yes: remove the key even though roles in this home still use it.
        #[arg(long)]
        force: bool,
    },
}

/// The key types `key generate` makes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyTypeArg {
    Ecdsa,
    Rsa,
}

#[derive(Subcommand, Debug)]
pub enum SignerCommand {
    /// Add a signer's keys to targets/releases and targets/NAME, initialising new repositories.
    Add {
        name: String,
        #[command(flatten)]
        repos: Repos,
        /// PUBLIC KEY or CERTIFICATE PEM files.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Replace a signer's keys in one change: the new keys join targets/NAME and
    /// targets/releases, targets/releases is re-signed by a key that stays, the old keys
    /// leave. Refused if a role would fall below its threshold.
    Rotate {
        name: String,
        #[command(flatten)]
        repos: Repos,
        /// The signer's new PUBLIC KEY or CERTIFICATE PEM files.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Remove a signer: its keys leave targets/releases and targets/NAME goes.
    Remove {
        name: String,
        #[command(flatten)]
        repos: Repos,
        /// Do not ask, even when targets/releases is left below its threshold.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DelegationCommand {
    /// List the delegations of a GUN (pending changes applied).
    List { gun: String },
    /// Add keys (and paths) to a delegation, creating it if needed.
    Add {
        gun: String,
        /// A delegation directly under targets, e.g. targets/releases.
        role: String,
        /// PUBLIC KEY or CERTIFICATE PEM files.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Path prefixes the role may sign.
        #[arg(long, num_args = 1.., conflicts_with = "all_paths")]
        paths: Vec<String>,
        /// The role may sign every path.
        #[arg(long)]
        all_paths: bool,
    },
    /// Remove keys from a delegation, or the whole delegation when no key is given.
    Remove {
        gun: String,
        role: String,
        /// Key IDs: the canonical ID (`delegation list`) or the ID targets.json lists.
        key_ids: Vec<String>,
        /// Do not ask before removing a whole role.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// GUNs to show; all when none are given.
    pub guns: Vec<String>,
    /// Show who has signed the roots in this response bundle, and who has not.
    #[arg(long, conflicts_with = "guns")]
    pub bundle: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub repos: Repos,
    /// The response bundle to write (must not exist).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// How long the roles signed now stay valid: [ROLE=]N{d,w,y}, e.g. 90d, root=5y,
    /// delegations=1y, targets/releases=180d. Repeatable. Default: Notary's (root 10 years,
    /// targets, snapshot and delegations 3 years).
    #[arg(long = "expires", value_name = "[ROLE=]LIFETIME")]
    pub expires: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// A response bundle.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    /// How many repositories to upload at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// The repository whose trust data the server deletes, e.g. example.com/team/app.
    pub gun: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Required: says that the server's data is meant. Local data goes with `airlock forget`.
    #[arg(long)]
    pub remote: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Show a bundle's kind, GUNs, files and digest, after checking it. The digest is also
    /// shown in groups of 4 hex digits and as PGP words, to compare it with the other side
    /// of the gap by eye or aloud.
    Inspect {
        bundle: PathBuf,
        /// Also print the digest as a QR code (Unicode half blocks, for a light-on-dark
        /// terminal) on stdout, for a phone or scanner to compare.
        #[arg(long)]
        qr: bool,
        /// Write the digest's QR code to FILE, as PNG (*.png) or SVG (*.svg); FILE must not
        /// exist.
        #[arg(long, value_name = "FILE")]
        qr_out: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

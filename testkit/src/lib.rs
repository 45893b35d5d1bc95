//! The one test kit of seatbook, shared by the library's tests
//! (`tests/*.rs`), the benches (`benches/`) and the fuzz targets
//! (`fuzz/`), so that a second backend or a server can run the same
//! bodies later:
//!
//! - [`fixtures`]: credentials, the base config (cheap argon2, simulated
//!   payments), admins, seats and the functional suites' [`Fixture`](fixtures::Fixture);
//! - [`reliability`]: the world of the reliability suites (tiny holds,
//!   one app with seats `S0..` of entity `E1`);
//! - [`rng`]: the seeded RNGs;
//! - [`invariants`]: checks through the public API and the audit;
//! - [`model`]: the simulation's reference model;
//! - [`faults`]: a fault-injecting, crash-imaging file layer (`seatbook::Vfs`);
//! - [`ffi`]: the C-ABI world and the built C libraries;
//! - [`fuzz`]: the fuzz targets' bodies;
//! - [`bench`]: the benches' fixtures and measuring helpers.
//!
//! Never a dependency of the library itself (only a dev-dependency), and
//! nothing here lowers a default: cheap argon2 is set through the config.

use std::path::Path;

pub mod bench;
pub mod faults;
pub mod ffi;
pub mod fixtures;
pub mod fuzz;
pub mod invariants;
pub mod model;
pub mod reliability;
pub mod rng;

/// The repository root: the workspace root, one level above this kit.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the kit lives one level below the workspace root")
}

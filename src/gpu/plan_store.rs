//! GEMM plans kept beyond one process: the tuner's cache file, so that an adapter is
//! tuned once, and a checkpoint's record of the plans it trained with, so that a
//! resumed run sums in the same order as the run it continues.
//!
//! Both hold plans as text, keyed by `GemmKey::text`, and both say which adapter chose
//! them. Nothing read back is trusted: a plan is used only where the adapter could
//! have chosen it for that GEMM (`gemm_tune::could_pick`, checked at launch).

use super::{
    AdapterReport, GemmCore, GemmPlan, SHADER_FILES, ShaderKind, shader_kind, tiled_shape_ok,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// One GEMM as plans are kept under: its prelude, the bytes of its parameters (the
/// shape, and a convolution's geometry) and its override constants (a matmul's
/// transposes among them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GemmKey {
    pub prelude: &'static str,
    pub params: Vec<u8>,
    pub constants: String,
}

impl GemmKey {
    /// `PRELUDE PARAMS-IN-HEX CONSTANTS`, as the files write it.
    pub fn text(&self) -> String {
        let hex: String = self.params.iter().map(|b| format!("{b:02x}")).collect();
        format!("{} {hex} {}", self.prelude, self.constants)
    }

    /// The key `text` wrote, if it names a GEMM prelude of this build.
    fn parse(text: &str) -> Option<GemmKey> {
        let mut words = text.splitn(3, ' ');
        let (name, hex, constants) = (words.next()?, words.next()?, words.next()?);
        let &(prelude, _) = SHADER_FILES
            .iter()
            .find(|(n, _)| *n == name && shader_kind(n) == ShaderKind::GemmPrelude)?;
        if !hex.len().is_multiple_of(2) {
            return None;
        }
        let params = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(GemmKey {
            prelude,
            params,
            constants: constants.to_string(),
        })
    }
}

/// A plan as the files write it: `tiled 128 128 8 8 8 split 1`.
pub(crate) fn plan_text(plan: GemmPlan) -> String {
    let core = match plan.core {
        GemmCore::Portable {
            wg_x,
            wg_y,
            rows,
            cols,
            steps,
        } => format!("portable {wg_x} {wg_y} {rows} {cols} {steps}"),
        GemmCore::Subgroup {
            lanes,
            rows,
            cols,
            steps,
        } => format!("subgroup {lanes} {rows} {cols} {steps}"),
        GemmCore::Tiled { bm, bn, bk, tm, tn } => format!("tiled {bm} {bn} {bk} {tm} {tn}"),
    };
    format!("{core} split {}", plan.splits)
}

/// The plan `plan_text` wrote, if it is a core the generator can build.
pub(crate) fn parse_plan(text: &str) -> Option<GemmPlan> {
    let words: Vec<&str> = text.split(' ').collect();
    let [kind, numbers @ .., "split", splits] = words.as_slice() else {
        return None;
    };
    let n = numbers
        .iter()
        .map(|w| w.parse::<u32>().ok().filter(|&v| v > 0))
        .collect::<Option<Vec<u32>>>()?;
    let core = match (*kind, n.as_slice()) {
        ("portable", &[wg_x, wg_y, rows, ref shape @ ..]) => {
            // Files from before the portable core had a width and k-steps of its own
            // hold the 8 × 2 it had then.
            let (cols, steps) = match *shape {
                [] => (8, 2),
                [cols, steps] if cols.is_multiple_of(4) => (cols, steps),
                _ => return None,
            };
            GemmCore::Portable {
                wg_x,
                wg_y,
                rows,
                cols,
                steps,
            }
        }
        ("subgroup", &[lanes, rows, cols, ref steps @ ..])
            if rows.is_multiple_of(lanes) && cols.is_multiple_of(4) =>
        {
            // Files from before the subgroup core had k-steps of its own hold its 2.
            let steps = match *steps {
                [] => 2,
                [steps] => steps,
                _ => return None,
            };
            GemmCore::Subgroup {
                lanes,
                rows,
                cols,
                steps,
            }
        }
        ("tiled", &[bm, bn, bk, tm, tn]) if tiled_shape_ok(bm, bn, bk, tm, tn) => {
            GemmCore::Tiled { bm, bn, bk, tm, tn }
        }
        _ => return None,
    };
    let splits = splits.parse::<u32>().ok().filter(|&s| s > 0)?;
    Some(GemmPlan { core, splits })
}

/// Which adapter chose a set of plans: its name, vendor and device ids, driver and
/// backend. Plans go with the adapter that timed them, and no other.
pub(crate) fn adapter_identity(report: &AdapterReport) -> Value {
    json!({
        "name": report.name,
        "vendor": report.vendor,
        "device": report.device,
        "driver": report.driver,
        "driver_info": report.driver_info,
        "backend": format!("{:?}", report.backend),
    })
}

/// `plans` as a JSON object of key text to plan text, in key order.
fn plans_json<'a>(plans: impl Iterator<Item = (&'a GemmKey, &'a GemmPlan)>) -> Value {
    let mut sorted: Vec<(String, String)> = plans.map(|(k, p)| (k.text(), plan_text(*p))).collect();
    sorted.sort();
    Value::Object(
        sorted
            .into_iter()
            .map(|(k, p)| (k, Value::String(p)))
            .collect(),
    )
}

/// The plans of a JSON object `plans_json` wrote, or None if any entry is not one.
fn parse_plans(value: &Value) -> Option<HashMap<GemmKey, GemmPlan>> {
    value
        .as_object()?
        .iter()
        .map(|(k, p)| Some((GemmKey::parse(k)?, parse_plan(p.as_str()?)?)))
        .collect()
}

/// The checkpoint metadata entry that records a run's plans.
pub(crate) const METADATA_KEY: &str = "gemm_plans";

/// What a checkpoint records: the adapter, and the plan of every GEMM it ran.
pub(crate) fn plans_metadata<'a>(
    report: &AdapterReport,
    plans: impl Iterator<Item = (&'a GemmKey, &'a GemmPlan)>,
) -> String {
    json!({ "adapter": adapter_identity(report), "plans": plans_json(plans) }).to_string()
}

/// The plans a checkpoint recorded, if this adapter chose them; otherwise a note
/// saying why they are not used. `name` is what the note calls the checkpoint.
pub(crate) fn plans_from_metadata(
    report: &AdapterReport,
    text: &str,
    name: &str,
) -> Result<HashMap<GemmKey, GemmPlan>, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("{name}'s GEMM plans are damaged ({e}) and are not used"))?;
    if value.get("adapter") != Some(&adapter_identity(report)) {
        return Err(format!(
            "{name} was trained on another adapter ({}), so this run plans its own GEMMs \
             and will not be bit-exact with one that stayed there",
            value.get("adapter").unwrap_or(&Value::Null)
        ));
    }
    value
        .get("plans")
        .and_then(parse_plans)
        .ok_or_else(|| format!("{name}'s GEMM plans are damaged and are not used"))
}

/// The file's sections: one per adapter, each with duel's version and the shaders'
/// hash it was tuned with, and its plans.
#[cfg(feature = "native")]
pub(crate) mod file {
    use super::super::{all_candidate_cores, shader_source};
    use super::*;
    use std::path::Path;

    /// A hash of every GEMM shader this build can compile: each prelude, and the
    /// generated core of every core the tuner may pick, whole and split. A change to any
    /// of them makes cached plans stale.
    /// Computed once: it is the same for the whole process.
    pub(crate) fn gemm_shaders_hash() -> &'static str {
        static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        HASH.get_or_init(|| {
            use sha2::{Digest, Sha256};
            let mut hash = Sha256::new();
            for (name, _) in SHADER_FILES {
                if shader_kind(name) == ShaderKind::GemmPrelude {
                    hash.update(shader_source(name));
                }
            }
            for lanes in [None, Some(4), Some(8), Some(16), Some(32), Some(64)] {
                for core in all_candidate_cores(lanes) {
                    hash.update(core.wgsl(false));
                    hash.update(core.wgsl(true));
                }
            }
            hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
        })
    }

    /// The section this build keeps for `report`: all but its plans.
    fn section_key(report: &AdapterReport) -> Value {
        json!({
            "adapter": adapter_identity(report),
            "duel": env!("CARGO_PKG_VERSION"),
            "shaders": gemm_shaders_hash(),
        })
    }

    /// The sections of the file at `path`: none if it does not exist, or `Err` with a
    /// note if it is not one this code wrote.
    fn sections(path: &Path) -> Result<Vec<Value>, String> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("could not read {}: {e}", path.display())),
        };
        let damaged = |why: String| {
            format!(
                "{} is damaged ({why}): it is ignored, and rewritten as plans are tuned",
                path.display()
            )
        };
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        match value.get("sections").and_then(Value::as_array) {
            Some(sections) if sections.iter().all(|s| s.get("adapter").is_some()) => {
                Ok(sections.clone())
            }
            _ => Err(damaged("no list of sections, one per adapter".into())),
        }
    }

    /// The plans cached at `path` for this adapter, build and shaders, with a note
    /// when the file or its section is damaged or stale (whose plans are then not
    /// used: this adapter is tuned again).
    pub(crate) fn load(
        path: &Path,
        report: &AdapterReport,
    ) -> (HashMap<GemmKey, GemmPlan>, Option<String>) {
        match sections(path) {
            Ok(sections) => section_plans(&sections, &section_key(report), path),
            Err(note) => (HashMap::new(), Some(note)),
        }
    }

    /// The plans of the section of `sections` that `key` names, as `load` says.
    fn section_plans(
        sections: &[Value],
        key: &Value,
        path: &Path,
    ) -> (HashMap<GemmKey, GemmPlan>, Option<String>) {
        let Some(ours) = sections.iter().find(|s| s["adapter"] == key["adapter"]) else {
            return (HashMap::new(), None);
        };
        if ours["duel"] != key["duel"] || ours["shaders"] != key["shaders"] {
            let note = format!(
                "the GEMM plans in {} were tuned by duel {} with other shaders; this adapter \
                 is tuned again",
                path.display(),
                ours["duel"]
            );
            return (HashMap::new(), Some(note));
        }
        match ours.get("plans").and_then(parse_plans) {
            Some(plans) => (plans, None),
            None => {
                let note = format!(
                    "the GEMM plans in {} for this adapter are damaged: they are ignored, \
                     and this adapter is tuned again",
                    path.display()
                );
                (HashMap::new(), Some(note))
            }
        }
    }

    /// Writes `plans` as this adapter's section of the file at `path`, atomically,
    /// keeping the other adapters' sections and the plans already cached for this one
    /// (a damaged file is replaced).
    pub(crate) fn save(
        path: &Path,
        report: &AdapterReport,
        plans: &HashMap<GemmKey, GemmPlan>,
    ) -> crate::Result<()> {
        let mut ours = section_key(report);
        let mut sections = sections(path).unwrap_or_default();
        let (mut merged, _) = section_plans(&sections, &ours, path);
        merged.extend(plans.iter().map(|(k, p)| (k.clone(), *p)));
        sections.retain(|s| s["adapter"] != ours["adapter"]);
        ours["plans"] = plans_json(merged.iter());
        sections.push(ours);
        let text = serde_json::to_string_pretty(&json!({ "sections": sections }))
            .map_err(|e| crate::Error::Output(format!("could not encode GEMM plans: {e}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                crate::Error::Output(format!("could not create {}: {e}", dir.display()))
            })?;
        }
        crate::io::write_bytes(path, text.as_bytes())
    }
}

/// The plans that `cache` keeps for this adapter, when the context tunes (`gemm`) and
/// reads the cache; a damaged or stale cache costs a note.
#[cfg(feature = "native")]
pub(crate) fn cached(
    cache: Option<&super::PlanCache>,
    gemm: super::GemmPolicy,
    report: &AdapterReport,
) -> HashMap<GemmKey, GemmPlan> {
    let Some(cache) = cache.filter(|c| c.read && gemm == super::GemmPolicy::Tuned) else {
        return HashMap::new();
    };
    let (kept, note) = file::load(&cache.path, report);
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    kept
}

/// The browser has no files, so no plan cache.
#[cfg(not(feature = "native"))]
pub(crate) fn cached(
    _: Option<&super::PlanCache>,
    _: super::GemmPolicy,
    _: &AdapterReport,
) -> HashMap<GemmKey, GemmPlan> {
    HashMap::new()
}

#[cfg(test)]
mod tests {
    use super::super::all_candidate_cores;
    use super::*;

    fn report(name: &str) -> AdapterReport {
        AdapterReport {
            name: name.into(),
            vendor: 0x10005,
            device: 0,
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::Cpu,
            driver: "llvmpipe".into(),
            driver_info: "Mesa".into(),
            subgroup_min_size: 8,
            subgroup_max_size: 8,
            has_subgroups: true,
            has_timestamps: true,
        }
    }

    fn key(n: u8) -> GemmKey {
        GemmKey {
            prelude: "gemm_matmul",
            params: vec![n, 0, 255, 16],
            constants: "TRANS_A=1".into(),
        }
    }

    /// Every core the tuner may pick, and every split, reads back as written; text
    /// that is no plan, or a tile the generator can't build, reads as none.
    #[test]
    fn plans_and_keys_read_back_as_written_and_garbage_reads_as_none() {
        for lanes in [None, Some(4), Some(8), Some(32)] {
            for core in all_candidate_cores(lanes) {
                for splits in [1, 3, 32] {
                    let plan = GemmPlan { core, splits };
                    assert_eq!(parse_plan(&plan_text(plan)), Some(plan), "{plan}");
                }
            }
        }
        for bad in [
            "",
            "tiled 128 128 8 8 8",
            "tiled 128 128 8 8 split 1",
            "tiled 100 128 8 8 8 split 1",
            "tiled 128 128 8 8 8 split 0",
            "portable 8 1 x split 1",
            "portable 8 1 32 6 4 split 1",
            "subgroup 8 60 8 2 split 1",
            "subgroup 4 32 16 4 4 split 1",
            "warp 8 1 1 split 1",
        ] {
            assert_eq!(parse_plan(bad), None, "{bad:?}");
        }
        // Files from before the portable core's width and k-steps, and the subgroup
        // core's k-steps, were their own.
        assert_eq!(
            parse_plan("portable 16 16 8 split 2"),
            Some(GemmPlan::new(GemmCore::PORTABLE_GPU, 2))
        );
        assert_eq!(
            parse_plan("subgroup 8 64 8 split 1"),
            Some(GemmPlan::new(GemmCore::SUBGROUP8, 1))
        );
        assert_eq!(GemmKey::parse(&key(7).text()), Some(key(7)));
        let unconstrained = GemmKey {
            constants: String::new(),
            ..key(1)
        };
        assert_eq!(GemmKey::parse(&unconstrained.text()), Some(unconstrained));
        for bad in [
            "gemm_matmul 0a0",
            "gemm_matmul zz ",
            "adam 00 ",
            "gemm_matmul",
        ] {
            assert_eq!(GemmKey::parse(bad), None, "{bad:?}");
        }
    }

    /// A checkpoint's plans are taken on the adapter that chose them, and refused
    /// with a note on another, or when damaged.
    #[test]
    fn checkpoint_plans_are_used_only_on_their_own_adapter() {
        let plan = GemmPlan {
            core: super::super::TILED_64,
            splits: 2,
        };
        let plans = HashMap::from([(key(1), plan)]);
        let text = plans_metadata(&report("llvmpipe"), plans.iter());
        assert_eq!(
            plans_from_metadata(&report("llvmpipe"), &text, "c"),
            Ok(plans)
        );
        let other = plans_from_metadata(&report("RTX 4090"), &text, "c").unwrap_err();
        assert!(other.contains("another adapter"), "{other}");
        let damaged = text.replace("split 2", "split x");
        let note = plans_from_metadata(&report("llvmpipe"), &damaged, "c").unwrap_err();
        assert!(note.contains("damaged"), "{note}");
        assert!(plans_from_metadata(&report("llvmpipe"), "{", "c").is_err());
    }

    #[cfg(feature = "native")]
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("duel-plans-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("plans.json")
    }

    /// The cache: written, read back, one section per adapter; a damaged file, a
    /// damaged section or one from other shaders is ignored with a note, and the next
    /// write replaces it.
    #[cfg(feature = "native")]
    #[test]
    fn the_cache_file_reads_back_keeps_other_adapters_and_ignores_damage() {
        let path = scratch("cache");
        let (here, there) = (report("llvmpipe"), report("RTX 4090"));
        let a = GemmPlan {
            core: super::super::TILED_64,
            splits: 4,
        };
        let b = GemmPlan {
            core: GemmCore::SUBGROUP8,
            splits: 1,
        };
        assert_eq!(file::load(&path, &here), (HashMap::new(), None));
        file::save(&path, &here, &HashMap::from([(key(1), a)])).unwrap();
        file::save(&path, &there, &HashMap::from([(key(1), b)])).unwrap();
        file::save(&path, &here, &HashMap::from([(key(2), b)])).unwrap();
        let both = HashMap::from([(key(1), a), (key(2), b)]);
        assert_eq!(file::load(&path, &here), (both.clone(), None));
        assert_eq!(file::load(&path, &there).0, HashMap::from([(key(1), b)]));

        let text = std::fs::read_to_string(&path).unwrap();
        let stale = text.replace(file::gemm_shaders_hash(), "0000");
        std::fs::write(&path, &stale).unwrap();
        let (plans, note) = file::load(&path, &here);
        assert!(plans.is_empty() && note.unwrap().contains("other shaders"));

        std::fs::write(&path, text.replace("split 4", "split four")).unwrap();
        let (plans, note) = file::load(&path, &here);
        assert!(plans.is_empty() && note.unwrap().contains("damaged"));
        assert_eq!(file::load(&path, &there).0, HashMap::from([(key(1), b)]));

        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let (plans, note) = file::load(&path, &here);
        assert!(plans.is_empty() && note.unwrap().contains("damaged"));
        file::save(&path, &here, &both).unwrap();
        assert_eq!(file::load(&path, &here), (both, None));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

//! Card temperatures where the host can see them: hwmon and thermal zones for this machine (the
//! `local` card), `/sys/class/mic/micN/` for MPSS cards. Unreadable or absurd values are `None`.

use std::path::{Path, PathBuf};

/// hwmon drivers that measure the CPU itself (preferred over board or disk sensors).
const CPU_DRIVERS: [&str; 4] = ["coretemp", "k10temp", "zenpower", "cpu_thermal"];

/// The temperature of the card named `card` (`local`, `micN`; other cards: `None`, the host
/// cannot see them), read under `sysfs_root` (normally `/sys`).
pub fn card_temperature(sysfs_root: &Path, card: &str) -> Option<f64> {
    if card == "local" {
        return host_temperature(sysfs_root);
    }
    let index: u32 = card.strip_prefix("mic")?.parse().ok()?;
    mic_temperature(sysfs_root, index)
}

/// The hottest CPU sensor of this machine: hwmon CPU drivers first, else every hwmon sensor,
/// else the thermal zones.
pub fn host_temperature(sysfs_root: &Path) -> Option<f64> {
    let hwmon = dirs(&sysfs_root.join("class/hwmon"));
    let cpu: Vec<&PathBuf> = hwmon
        .iter()
        .filter(|d| {
            read_trimmed(&d.join("name")).is_some_and(|n| CPU_DRIVERS.contains(&n.as_str()))
        })
        .collect();
    let chosen: Vec<&PathBuf> = if cpu.is_empty() {
        hwmon.iter().collect()
    } else {
        cpu
    };
    hottest(chosen.iter().flat_map(|d| temp_inputs(d))).or_else(|| {
        hottest(
            dirs(&sysfs_root.join("class/thermal"))
                .iter()
                .filter(|d| file_name_starts(d, "thermal_zone"))
                .map(|d| d.join("temp")),
        )
    })
}

/// An MPSS card's temperature: its `temp*` files (MPSS names vary by version), or an hwmon under
/// its device.
pub fn mic_temperature(sysfs_root: &Path, index: u32) -> Option<f64> {
    let dir = sysfs_root.join(format!("class/mic/mic{index}"));
    let direct = files(&dir)
        .into_iter()
        .filter(|f| file_name_starts(f, "temp"));
    hottest(direct).or_else(|| {
        hottest(
            dirs(&dir.join("device/hwmon"))
                .iter()
                .flat_map(|d| temp_inputs(d)),
        )
    })
}

fn temp_inputs(hwmon: &Path) -> Vec<PathBuf> {
    files(hwmon)
        .into_iter()
        .filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("temp") && n.ends_with("_input"))
        })
        .collect()
}

fn hottest(paths: impl IntoIterator<Item = PathBuf>) -> Option<f64> {
    paths
        .into_iter()
        .filter_map(|p| read_celsius(&p))
        .fold(None, |best: Option<f64>, t| {
            Some(best.map_or(t, |b| b.max(t)))
        })
}

/// sysfs speaks millidegrees; some MPSS files speak whole degrees. Drivers write 0 or -1 for "no
/// reading", and a running card is never at or below freezing, so only (0, 150] °C is believed.
fn read_celsius(path: &Path) -> Option<f64> {
    let raw: f64 = read_trimmed(path)?.parse().ok()?;
    let c = if raw.abs() >= 1000.0 {
        raw / 1000.0
    } else {
        raw
    };
    (c > 0.0 && c <= 150.0).then_some(c)
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn file_name_starts(p: &Path, prefix: &str) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix))
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Directories, following symlinks (sysfs class entries are links).
fn dirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_dir()).collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_file()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    #[test]
    fn host_prefers_cpu_hwmon_and_takes_the_hottest() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        write(root, "class/hwmon/hwmon0/name", "nvme\n");
        write(root, "class/hwmon/hwmon0/temp1_input", "90000\n");
        write(root, "class/hwmon/hwmon1/name", "coretemp\n");
        write(root, "class/hwmon/hwmon1/temp1_input", "51000\n");
        write(root, "class/hwmon/hwmon1/temp2_input", "63500\n");
        write(root, "class/hwmon/hwmon1/temp2_label", "Core 1\n");
        write(root, "class/thermal/thermal_zone0/temp", "99000\n");
        assert_eq!(host_temperature(root), Some(63.5));
        assert_eq!(card_temperature(root, "local"), Some(63.5));
    }

    #[test]
    fn host_falls_back_to_any_hwmon_then_thermal_zones() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        write(root, "class/thermal/thermal_zone0/temp", "42000\n");
        write(root, "class/thermal/thermal_zone1/temp", "garbage\n");
        write(root, "class/thermal/cooling_device0/temp", "99000\n");
        assert_eq!(host_temperature(root), Some(42.0));
        write(root, "class/hwmon/hwmon0/name", "acpitz\n");
        write(root, "class/hwmon/hwmon0/temp1_input", "47000\n");
        assert_eq!(host_temperature(root), Some(47.0));
    }

    #[test]
    fn mic_cards_read_their_own_files_in_degrees_or_millidegrees() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path();
        write(root, "class/mic/mic0/temp", "61\n");
        write(root, "class/mic/mic0/state", "online\n");
        write(
            root,
            "class/mic/mic1/device/hwmon/hwmon3/temp1_input",
            "70500\n",
        );
        write(root, "class/mic/mic2/temp_die", "-1\n");
        write(root, "class/mic/mic2/temp_bad", "5000000\n");
        assert_eq!(card_temperature(root, "mic0"), Some(61.0));
        assert_eq!(card_temperature(root, "mic1"), Some(70.5));
        assert_eq!(
            mic_temperature(root, 2),
            None,
            "-1 and 5000 °C are not readings"
        );
        assert_eq!(card_temperature(root, "mic3"), None, "no such card");
        assert_eq!(
            card_temperature(root, "root@172.31.1.1"),
            None,
            "not visible from the host"
        );
        assert_eq!(
            card_temperature(root, "local"),
            None,
            "no sensors in this tree"
        );
    }
}

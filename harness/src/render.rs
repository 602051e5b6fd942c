//! Text output of the commands that print tables or lines (the run's own console output is
//! [`crate::report::console`]'s): pure functions from what a command found to its text.

use crate::capability::Capability;
use crate::plan;
use crate::scenario::Scenario;
use crate::target::profile::Profile;

/// `rolecheck list`: one line per scenario with its rules, the capabilities it needs (those
/// its rules and steps imply and those it requires, see [`crate::plan::needs`]) and its
/// file, in aligned columns.
pub fn scenario_list(scenarios: &[Scenario]) -> String {
    let rows: Vec<[String; 4]> = scenarios
        .iter()
        .map(|s| {
            let rules: Vec<String> = s.rules.iter().map(ToString::to_string).collect();
            let needs: Vec<&str> = plan::needs(s).iter().map(|c| c.name()).collect();
            [
                s.name.clone(),
                rules.join(","),
                needs.join(","),
                s.location.file.display().to_string(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let (name, rules, needs) = (width(0), width(1), width(2));
    let mut out = String::new();
    for [n, r, c, file] in &rows {
        out.push_str(&format!("{n:name$}  {r:rules$}  {c:needs$}  {file}\n"));
    }
    out
}

/// `rolecheck targets`: every profile with its description, its capabilities and those it
/// lacks.
pub fn target_list(profiles: &[Profile]) -> String {
    let width = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in profiles {
        let caps: Vec<&str> = p.capabilities.iter().map(|c| c.name()).collect();
        let real = if p.aws.is_real_aws() {
            " [real AWS: needs --allow-real-aws]"
        } else {
            ""
        };
        out.push_str(&format!("{:width$}  {}{real}\n", p.name, p.description));
        out.push_str(&format!(
            "{:width$}  capabilities: {}\n",
            "",
            caps.join(", ")
        ));
        let lacks: Vec<&str> = Capability::ALL
            .iter()
            .filter(|c| !p.capabilities.contains(c))
            .map(|c| c.name())
            .collect();
        if !lacks.is_empty() {
            out.push_str(&format!(
                "{:width$}  lacks:        {}\n",
                "",
                lacks.join(", ")
            ));
        }
    }
    out
}

/// What a run stopped by a second signal knows it left behind (no reports are written).
pub fn abandoned(left: &[String]) -> String {
    if left.is_empty() {
        return "clean-up stopped; the run knows of nothing it left behind\n".to_owned();
    }
    let mut out =
        "clean-up stopped; left behind (remove with `rolecheck gc` or by hand):\n".to_owned();
    for item in left {
        out.push_str(&format!("    {item}\n"));
    }
    out
}

/// The line `rolecheck report merge` ends with.
pub fn merged(inputs: usize, out_dir: &std::path::Path, counts: (usize, usize, usize)) -> String {
    let (passed, failed, skipped) = counts;
    format!(
        "merged {inputs} report(s) into {}: {passed} passed, {failed} failed, {skipped} skipped\n",
        out_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abandoned_run_lists_what_it_left() {
        assert_eq!(
            abandoned(&[]),
            "clean-up stopped; the run knows of nothing it left behind\n"
        );
        let text = abandoned(&["namespace a".to_owned(), "role b".to_owned()]);
        assert!(text.ends_with("    namespace a\n    role b\n"), "{text}");
    }

    #[test]
    fn targets_name_what_they_lack() {
        let sim = Profile::named("sim").unwrap();
        let text = target_list(std::slice::from_ref(&sim));
        assert!(text.starts_with("sim  "), "{text}");
        assert!(text.contains("capabilities: "), "{text}");
    }
}

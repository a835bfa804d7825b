# How bench/backup drives restorable: sourced by bench/backup. Everything that depends on the CLI's
# commands, flags and policy format is here, so that the bench follows the CLI as it changes.
#
# Each restorable_*_cmd function fills the array CMD with one command (no shell: the bench times it
# with /usr/bin/time and records that process's peak RSS, children included). The commands run with the
# work dir as the current directory (env -C), the passphrase in $RESTORABLE_PASSPHRASE.
#
# Inputs (set by bench/backup): $cli (absolute path of dist/cli.js), $work (the work dir), $corpus (the
# corpus, absolute), $repo (an empty directory for the repository), $stream_bytes.

# restorable_policy: writes $work/bench-policy.yaml.
restorable_policy() {
  cat >"$work/bench-policy.yaml" <<EOF
apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: bench, owner: bench@example.com }
repositories:
  local: { local: { path: "$repo" } }
systems:
  - name: corpus
    source: { paths: ["$corpus"] }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
  - name: stream
    source: { command: [head, -c, "$stream_bytes", /dev/urandom], filename: stream.bin }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
EOF
}

# restorable_init_cmd: a command that prepares the (empty) repository before the first backup, or an
# empty CMD when the first backup does it.
restorable_init_cmd() {
  CMD=()
}

# restorable_backup_cmd SYSTEM: one backup of a system of the policy (corpus, stream).
restorable_backup_cmd() {
  CMD=(env -C "$work" node "$cli" backup bench-policy.yaml --root "$work" --system "$1" --json)
}

# restorable_restore_cmd TARGET: restore of the latest snapshot of the corpus into TARGET (empty).
restorable_restore_cmd() {
  CMD=(env -C "$work" node "$cli" restore bench-policy.yaml --root "$work" --system corpus --snapshot latest
    --target "$1")
}

# restorable_restored_dir TARGET: where the corpus is after a restore into TARGET. Snapshots keep the
# absolute source path without its leading '/', as restic and borg do.
restorable_restored_dir() {
  printf '%s\n' "$1/${corpus#/}"
}

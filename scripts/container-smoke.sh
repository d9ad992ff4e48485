#!/usr/bin/env bash
# `npm run container:smoke` (issue 24): builds docker/Dockerfile and runs the image the way a
# platform team would, against a real Postgres and the sandbox EHR on the host network:
#   1. base image (scripts/build-base-image.sh, cached) and the CPU image; image size;
#   2. contents: no devDependencies, no test/, no .data, no TypeScript sources; runs as non-root;
#   3. start-up to /readyz, the image's HEALTHCHECK, `subscriptions sync` from inside the container,
#      a vital sign written to the EHR -> a RiskAssessment written back by the container;
#   4. SIGTERM while a job is running: the job completes before the process exits 0;
#   5. bad input: no FHIR_BASE_URL, an unreachable database -> non-zero exit within seconds with the
#      key named, and the HEALTHCHECK reports unhealthy;
#   6. the GPU image: built only where its CUDA sources are reachable (see docs/deployment.md).
# Everything it starts (containers, the sandbox EHR, the database) is removed on exit.
#
# Environment: SMOKE_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432, trust auth; a fresh
# database is created and dropped; when none answers there, or SMOKE_POSTGRES=embedded, the embedded
# Postgres from npm is started for the run: scripts/smoke-postgres.ts), SMOKE_APP_PORT (18680), SMOKE_EHR_PORT (18603),
# FHIR_FUSION_PODMAN_FLAGS / FHIR_FUSION_CONTAINER_ENGINE (scripts/container-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-env.sh
source scripts/container-env.sh

base_image=${FHIR_FUSION_BASE_IMAGE:-localhost/fhir-fusion-base:node22}
image=localhost/fhir-fusion:smoke
gpu_image=localhost/fhir-fusion-gpu:smoke
postgres_url=${SMOKE_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
app_port=${SMOKE_APP_PORT:-18680}
ehr_port=${SMOKE_EHR_PORT:-18603}
run_id=$$
database=fhir_fusion_smoke_$run_id
app=fhir-fusion-smoke-$run_id
work=$(mktemp -d)
sandbox_pid=
postgres_pid=
started_all=$(date +%s)

now_ms() { date +%s%3N; }
step() { printf '\n== %s\n' "$*"; }
ok() { printf '  ok    %s\n' "$*"; }
fail() {
  printf '  FAIL  %s\n' "$*" >&2
  exit 1
}

cleanup() {
  local status=$?
  trap - EXIT
  for c in $(ctr ps -a --filter "name=fhir-fusion-smoke-$run_id" --format '{{.Names}}' 2>/dev/null); do ctr rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null && wait "$sandbox_pid" 2>/dev/null || true; fi
  psql -q "$postgres_url/postgres" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "$postgres_pid" ]; then kill "$postgres_pid" 2>/dev/null && wait "$postgres_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  if [ $status -eq 0 ]; then
    echo
    echo "container smoke passed in $(($(date +%s) - started_all)) s"
  else
    echo "container smoke FAILED (exit $status)" >&2
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in "$engine" psql curl node; do command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install podman debootstrap runc postgresql-client)"; done
for port in "$app_port" "$ehr_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port is in use (set SMOKE_APP_PORT / SMOKE_EHR_PORT)"; fi
done
if [ "${SMOKE_POSTGRES:-}" = embedded ] || ! psql -q "$postgres_url/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
  [ -z "${SMOKE_POSTGRES_URL:-}" ] || fail "no Postgres at $postgres_url"
  # No Postgres on this machine: the embedded one (npm binaries) on loopback, removed on exit.
  echo "no Postgres at $postgres_url (or SMOKE_POSTGRES=embedded): starting the embedded Postgres on 127.0.0.1:18632"
  node --import tsx scripts/smoke-postgres.ts 18632 >"$work/postgres.log" 2>&1 &
  postgres_pid=$!
  for _ in $(seq 1 240); do grep -q '^DATABASE_ADMIN_URL=' "$work/postgres.log" && break; kill -0 "$postgres_pid" 2>/dev/null || break; sleep 0.5; done
  admin=$(sed -n 's/^DATABASE_ADMIN_URL=//p' "$work/postgres.log")
  [ -n "$admin" ] || { cat "$work/postgres.log" >&2; fail "the embedded Postgres did not start"; }
  postgres_url=${admin%/postgres}
fi

# --- 1. images ------------------------------------------------------------------------------
step "base image"
t0=$(now_ms)
bash scripts/build-base-image.sh
echo "  base image step: $(( ($(now_ms) - t0) / 1000 )) s"

# A registry behind a TLS-inspecting proxy: the host's CA bundle reaches `npm ci` as a build
# secret (docker/Dockerfile, npm_ca), never a layer of the image.
ca_secret=()
ca_file=${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-}}
[ -n "$ca_file" ] && [ -s "$ca_file" ] && ca_secret=(--secret "id=npm_ca,src=$ca_file")

step "CPU image (docker/Dockerfile, NODE_IMAGE=$base_image)"
t0=$(now_ms)
# --format docker: the OCI image format has no HEALTHCHECK; podman drops it without it.
ctr build --format docker --network=host "${ca_secret[@]}" --build-arg "NODE_IMAGE=$base_image" -f docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  fail "podman build docker/Dockerfile"
}
build_s=$(( ($(now_ms) - t0) / 1000 ))
size_bytes=$(ctr image inspect --format '{{.Size}}' "$image")
ok "built $image in $build_s s; image size $((size_bytes / 1000000)) MB"

# --- 2. contents ----------------------------------------------------------------------------
step "image contents"
dev_deps=$(node -p "Object.keys(require('./package.json').devDependencies).join(' ')")
found=$(ctr run --rm --network=none --no-healthcheck --entrypoint sh "$image" -c '
  for d in '"$dev_deps"'; do [ -e "node_modules/$d" ] && echo "node_modules/$d"; done
  for p in test .data test-artifacts .git; do [ -e "$p" ] && echo "$p"; done
  find /app -path /app/node_modules -prune -o \( -name .data -o -name "*.test.*" -o -name "*.ts" ! -name "*.d.ts" \) -print | head -n 5
  find /app/src -type f ! -path "/app/src/review/assets/*" | head -n 5
  [ -z "$(ls -A /var/lib/fhir-fusion)" ] || echo "/var/lib/fhir-fusion is not empty"
  true')
[ -z "$found" ] || fail "the image holds what it should not: $(echo "$found" | paste -sd' ')"
ok "no devDependencies ($(echo "$dev_deps" | wc -w) checked), no test/, no .data, no TypeScript sources"
user=$(ctr image inspect --format '{{.Config.User}}' "$image")
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || fail "image USER is '${user:-unset}'"
ok "image USER $user"

# --- 3. a running container ----------------------------------------------------------------
step "sandbox EHR on the host (port $ehr_port)"
psql -q "$postgres_url/postgres" -c "CREATE DATABASE $database" >/dev/null
# One process (no npx/tsx wrapper), so the cleanup's kill reaches the server itself.
node --import tsx src/cli/index.ts sandbox --port "$ehr_port" --patients 4 --seed 24 >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 240); do
  grep -q '^FHIR_BASE_URL=' "$work/sandbox.log" && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.log" >&2; fail "sandbox EHR exited"; }
  sleep 0.5
done
grep -q '^FHIR_BASE_URL=' "$work/sandbox.log" || fail "sandbox EHR did not start in 120 s"
fhir=http://127.0.0.1:$ehr_port/fhir
ok "$(head -n1 "$work/sandbox.log")"

# The compose file's hardening: read-only root, no capabilities, no privilege escalation.
settings=(
  "DATABASE_URL=$postgres_url/$database"
  "FHIR_BASE_URL=$fhir"
  "DICOMWEB_BASE_URL=http://127.0.0.1:$ehr_port/dicomweb"
  "PUBLIC_URL=http://127.0.0.1:$app_port"
  "PORT=$app_port"
  HOST=127.0.0.1
  COALESCE_WINDOW_MS=300
  LOG_LEVEL=info
)
# `env_flags KEY=VALUE...` -> -e KEY=VALUE ...
env_flags() { for kv in "$@"; do printf -- '-e\n%s\n' "$kv"; done; }
mapfile -t env_args < <(env_flags "${settings[@]}")
# --health-interval disable: the image's HEALTHCHECK stays, run on demand (`healthcheck run`)
# rather than by a systemd timer, which this host (no systemd) cannot create.
hardening=(--network=host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --health-interval disable)

step "fhir-fusion container (port $app_port)"
t0=$(now_ms)
ctr run -d --name "$app" "${hardening[@]}" "${env_args[@]}" "$image" >/dev/null
ready=
for _ in $(seq 1 600); do
  if curl -fs "http://127.0.0.1:$app_port/readyz" >"$work/readyz.json" 2>/dev/null; then ready=1 && break; fi
  [ "$(ctr inspect --format '{{.State.Running}}' "$app")" = true ] || { ctr logs "$app" | tail -n 30 >&2; fail "container exited before /readyz"; }
  sleep 0.2
done
[ -n "$ready" ] || { ctr logs "$app" | tail -n 30 >&2; fail "/readyz not 200 in 120 s"; }
ready_ms=$(( $(now_ms) - t0 ))
ok "/readyz 200 after $(awk "BEGIN{printf \"%.1f\", $ready_ms/1000}") s: $(cat "$work/readyz.json")"

ctr healthcheck run "$app" >/dev/null 2>&1 || fail "HEALTHCHECK of the running container reports unhealthy"
ok "HEALTHCHECK healthy"
uid=$(ctr exec "$app" sh -c 'id -u')
pid1_uid=$(ctr exec "$app" sh -c "awk '/^Uid:/{print \$2}' /proc/1/status")
[ "$uid" != 0 ] && [ "$pid1_uid" != 0 ] || fail "process runs as root (uid $pid1_uid)"
ok "node (PID 1) runs as uid $pid1_uid ($(ctr exec "$app" sh -c 'id -un'))"

ctr exec "$app" node dist/cli/index.js subscriptions sync | sed 's/^/  /'

# One vital sign for one patient (ids stay out of the output: synthetic, but the rule holds).
patients=$(curl -fs "$fhir/Patient?_count=10&_elements=id" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log((JSON.parse(s).entry??[]).map(e=>e.resource.id).join(" ")))')
read -r -a patient_ids <<<"$patients"
[ ${#patient_ids[@]} -ge 2 ] || fail "the sandbox holds ${#patient_ids[@]} patients"
vital() {
  printf '{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":"%s","valueQuantity":{"value":%s,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}' \
    "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2"
}
count_assessments() {
  curl -fs "$fhir/RiskAssessment?subject=Patient/$1&_summary=count" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).total??0))'
}
before=$(count_assessments "${patient_ids[0]}")
t0=$(now_ms)
curl -fs -X POST -H 'content-type: application/fhir+json' --data "$(vital "${patient_ids[0]}" 131)" "$fhir/Observation" >/dev/null
after=$before
for _ in $(seq 1 300); do
  after=$(count_assessments "${patient_ids[0]}")
  [ "$after" -gt "$before" ] && break
  sleep 0.4
done
[ "$after" -gt "$before" ] || { ctr logs "$app" | tail -n 30 >&2; fail "no RiskAssessment written within 120 s of the vital sign"; }
ok "vital sign -> notification -> $((after - before)) RiskAssessment(s) written to the EHR in $(awk "BEGIN{printf \"%.1f\", ($(now_ms)-$t0)/1000}") s"
provenance=$(curl -fs "$fhir/Provenance?_summary=count" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).total??0))')
[ "$provenance" -gt 0 ] || fail "no Provenance in the EHR"
ok "Provenance in the EHR: $provenance"

# --- 4. SIGTERM drains -------------------------------------------------------------------
step "SIGTERM while a job runs"
sql() { psql -qAt "$postgres_url/$database" -c "$1"; }
for id in "${patient_ids[@]:1}"; do
  curl -fs -X POST -H 'content-type: application/fhir+json' --data "$(vital "$id" 97)" "$fhir/Observation" >/dev/null
done
active=
for _ in $(seq 1 1200); do
  active=$(sql "SELECT string_agg(id::text, ',') FROM pgboss.job WHERE name = 'assess-patient' AND state = 'active'")
  [ -n "$active" ] && break
  sleep 0.05
done
[ -n "$active" ] || fail "no assessment job became active within 60 s"
t0=$(now_ms)
ctr kill --signal TERM "$app" >/dev/null
exit_code=$(ctr wait "$app")
stop_ms=$(( $(now_ms) - t0 ))
ids_sql="'$(echo "$active" | sed "s/,/','/g")'"
states=$(sql "SELECT string_agg(DISTINCT state::text, ',') FROM pgboss.job WHERE id::text IN ($ids_sql)")
ctr logs "$app" >"$work/app.log" 2>&1
shutdown_line=$(grep -n '"shutting down"' "$work/app.log" | head -n1 | cut -d: -f1)
assessed_after=$(tail -n +"${shutdown_line:-1}" "$work/app.log" | grep -c '"patient assessed"' || true)
[ "$exit_code" = 0 ] || { tail -n 20 "$work/app.log" >&2; fail "exit code $exit_code after SIGTERM"; }
[ -n "$shutdown_line" ] || fail "no 'shutting down' log line after SIGTERM"
[ "$states" = completed ] || fail "job(s) active at SIGTERM ended '$states', not completed"
ok "$(echo "$active" | tr ',' '\n' | wc -l) job(s) active at SIGTERM completed before exit ($assessed_after assessed after 'shutting down'); exit 0 after $(awk "BEGIN{printf \"%.1f\", $stop_ms/1000}") s"
ctr rm "$app" >/dev/null

# --- 5. bad input -----------------------------------------------------------------------
step "misconfigured containers"
misconfigured() { # name, expected key, env...
  local name=$1 key=$2 code t ms health
  shift 2
  t=$(now_ms)
  ctr run -d --name "$app-$name" "${hardening[@]}" "$@" "$image" >/dev/null
  code=$(timeout 60 "$engine" "${engine_flags[@]}" wait "$app-$name" || echo timeout)
  ms=$(( $(now_ms) - t ))
  ctr logs "$app-$name" >"$work/$name.log" 2>&1
  [ "$code" != timeout ] || fail "$name: still running after 60 s"
  [ "$code" != 0 ] || fail "$name: exit code 0"
  grep -q "$key" "$work/$name.log" || { cat "$work/$name.log" >&2; fail "$name: $key not named in the output"; }
  # An exited container cannot pass its HEALTHCHECK: `healthcheck run` must fail, and say why.
  if health=$(ctr healthcheck run "$app-$name" 2>&1); then fail "$name: HEALTHCHECK reports healthy"; fi
  ok "$name: exit $code after $(awk "BEGIN{printf \"%.1f\", $ms/1000}") s, $key named; HEALTHCHECK fails: $(echo "$health" | tail -n1 | sed 's/^Error: //' | cut -c1-90)"
  printf '        %s\n' "$(grep -m1 "$key" "$work/$name.log" | cut -c1-220)"
}
no_fhir=()
for kv in "${settings[@]}"; do [[ $kv == FHIR_BASE_URL=* ]] || no_fhir+=("$kv"); done
mapfile -t no_fhir < <(env_flags "${no_fhir[@]}")
misconfigured no-fhir-base-url FHIR_BASE_URL "${no_fhir[@]}"
# Port 9 (discard): nothing listens there, so the connection is refused at once.
bad_db=()
for kv in "${settings[@]}"; do [[ $kv == DATABASE_URL=* ]] && kv="DATABASE_URL=postgres://postgres@127.0.0.1:9/none"; bad_db+=("$kv"); done
mapfile -t bad_db < <(env_flags "${bad_db[@]}")
misconfigured unreachable-database DATABASE_URL "${bad_db[@]}"

# --- 6. GPU image ------------------------------------------------------------------------
step "GPU image (docker/Dockerfile.gpu)"
if [ -n "${SMOKE_CUDA_IMAGE:-}" ]; then
  t0=$(now_ms)
  ctr build --format docker --network=host "${ca_secret[@]}" --build-arg "CUDA_IMAGE=$SMOKE_CUDA_IMAGE" -f docker/Dockerfile.gpu -t "$gpu_image" . >"$work/build-gpu.log" 2>&1 || {
    tail -n 40 "$work/build-gpu.log" >&2
    fail "podman build docker/Dockerfile.gpu"
  }
  providers=$(ctr run --rm --network=none --no-healthcheck --entrypoint sh "$gpu_image" -c 'ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/ | grep -E "providers_(cuda|shared)"')
  echo "$providers" | grep -q providers_cuda || fail "GPU image lacks libonnxruntime_providers_cuda.so"
  ok "built $gpu_image in $(( ($(now_ms) - t0) / 1000 )) s; $(echo "$providers" | paste -sd' ')"
else
  echo "  SKIPPED: the GPU image needs the CUDA 12 + cuDNN 9 runtime image (nvcr.io / Docker Hub) and"
  echo "  onnxruntime-node's CUDA provider from NuGet (api.nuget.org); neither is reachable from this machine"
  echo "  (only Debian's mirror and the npm registry are). Where they are: SMOKE_CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04."
fi

echo
echo "summary: image $image $((size_bytes / 1000000)) MB, built in $build_s s; /readyz after $(awk "BEGIN{printf \"%.1f\", $ready_ms/1000}") s"

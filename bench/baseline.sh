#!/usr/bin/env bash
# The baseline of `make bench`: what the scenarios assert, done by a plain shell script with
# kubectl, curl (the platform's GraphQL API) and the AWS CLI, one check after another, against
# `rolecheck sim serve --env-file FILE`. Usage: bench/baseline.sh ENV_FILE
# Exits non-zero on the first check that does not hold, so a fast wrong script cannot win.
set -euo pipefail
for tool in kubectl curl jq; do
  command -v "$tool" >/dev/null || { echo "baseline: needs $tool" >&2; exit 2; }
done

env_file=${1:?usage: bench/baseline.sh ENV_FILE}
# shellcheck disable=SC1090
source "$env_file"
export KUBECONFIG AWS_ENDPOINT_URL_STS AWS_ENDPOINT_URL_IAM AWS_REGION
export AWS_DEFAULT_REGION="$AWS_REGION"   # the AWS CLI v1 reads this one
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY   # the sim's administrator key: its IAM checks signatures
aws=${AWS_CLI:-aws}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch"   # keeps the AWS CLI's credential cache out of the way

key=eks.amazonaws.com/role-arn
token_file=/var/run/secrets/eks.amazonaws.com/serviceaccount/token
role_a=arn:aws:iam::123456789:role/example-role
role_b=arn:aws:iam::123456789:role/other-role

fail() { echo "baseline: FAILED: $*" >&2; exit 1; }

gql() { # token query-file variables-json
  local answer
  answer=$(curl -sS -X POST "$ROLECHECK_PLATFORM_URL" -H "authorization: $1" \
    -H 'content-type: application/json' \
    --data "$(jq -n --arg q "$2" --argjson v "$3" '{query: $q, variables: $v}')")
  echo "$answer"
}

create='mutation C($label: String!, $releaseName: String, $workspaceId: Uuid!, $config: JSON!, $cloudRole: String) {
  createDeployment(label: $label, workspaceUuid: $workspaceId, releaseName: $releaseName, config: $config, cloudRole: $cloudRole) { id releaseName } }'
update='mutation U($deploymentId: Uuid!, $payload: JSON!, $cloudRole: String, $sync: Boolean) {
  updateDeployment(deploymentUuid: $deploymentId, payload: $payload, cloudRole: $cloudRole, sync: $sync) { id } }'
delete='mutation D($deploymentId: Uuid!) { deleteDeployment(deploymentUuid: $deploymentId) { id } }'

create_deployment() { # label role -> prints "id release" (the platform names the release
  # unless its manualReleaseNames is on, as Houston's default is off)
  local a
  a=$(gql "$ROLECHECK_PLATFORM_TOKEN" "$create" \
    "$(jq -n --arg r "$1" --arg w "$ROLECHECK_PLATFORM_WORKSPACE" --arg c "$2" \
      '{label: $r, releaseName: $r, workspaceId: $w, config: {executor: "CeleryExecutor"}, cloudRole: $c}')")
  jq -er '.data.createDeployment | "\(.id) \(.releaseName)"' <<<"$a" || fail "create $1: $a"
}
update_deployment() { # token id role-json -> prints the answer
  gql "$1" "$update" "$(jq -n --arg d "$2" --argjson c "$3" '{deploymentId: $d, payload: {}, cloudRole: $c, sync: true}')"
}
delete_deployment() { gql "$ROLECHECK_PLATFORM_TOKEN" "$delete" "$(jq -n --arg d "$1" '{deploymentId: $d}')" >/dev/null; }

wait_rollout() { # release: the chart's worker is a StatefulSet when worker persistence is on
  local c kind
  for c in webserver scheduler worker; do
    kind=deployment
    kubectl -n "astronomer-$1" get statefulset "$1-$c" >/dev/null 2>&1 && kind=statefulset
    kubectl -n "astronomer-$1" rollout status "$kind/$1-$c" --timeout=60s >/dev/null || fail "rollout $1-$c"
  done
}
service_account_of() { # release component -> the ServiceAccount its pods run under
  kubectl -n "astronomer-$1" get pods -l "release=$1,component=$2" \
    -o jsonpath='{.items[0].spec.serviceAccountName}'
}
expect_annotation() { # release value ("" = absent)
  local c sa got
  for c in webserver scheduler worker; do
    sa=$(service_account_of "$1" "$c")
    got=$(kubectl -n "astronomer-$1" get sa "$sa" -o jsonpath="{.metadata.annotations.${key//./\\.}}")
    [[ "$got" == "$2" ]] || fail "$1 $c: annotation '$got', want '$2'"
  done
}
expect_pod_env() { # release role
  local c pods
  for c in webserver scheduler worker; do
    pods=$(kubectl -n "astronomer-$1" get pods -l "release=$1,component=$c" -o json)
    jq -e --arg r "$2" --arg f "$token_file" '[.items[] | select(.metadata.deletionTimestamp == null)
      | .spec.containers[] | (.env // []) as $e
      | ($e | map(select(.name == "AWS_ROLE_ARN" and .value == $r)) | length == 1)
        and ($e | map(select(.name == "AWS_WEB_IDENTITY_TOKEN_FILE" and .value == $f)) | length == 1)]
      | length > 0 and all' <<<"$pods" >/dev/null || fail "$1 $c: pod env"
    jq -e '[.items[] | select(.metadata.deletionTimestamp == null) | .spec.volumes[]?
      | select(.name == "aws-iam-token") | .projected.sources[].serviceAccountToken.audience] | index("sts.amazonaws.com") != null' \
      <<<"$pods" >/dev/null || fail "$1 $c: token volume"
  done
}
assume() { # namespace sa audience -> prints the CLI's exit code
  kubectl -n "$1" create token "$2" --audience "$3" >"$scratch/token"
  if "$aws" sts assume-role-with-web-identity --role-arn "$role_arn" --role-session-name baseline \
      --web-identity-token "file://$scratch/token" >"$scratch/sts.json" 2>"$scratch/sts.err"; then
    echo 0
  else
    echo 1
  fi
}

# The role the documents tell the administrator to create.
provider=${ROLECHECK_OIDC_ISSUER#https://}
trust=$(sed -e "s|{{account}}|$ROLECHECK_ACCOUNT_ID|g" -e "s|{{oidc_provider}}|$provider|g" \
  -e "s|{{release_namespaces}}|astronomer-*|g" \
  "$(dirname "$0")/../fixtures/policies/trust-policy.json")
role_arn=$("$aws" iam create-role --endpoint-url "$AWS_ENDPOINT_URL_IAM" --role-name baseline-role \
  --assume-role-policy-document "$trust" --query Role.Arn --output text)

run=$RANDOM
# create with a role: ServiceAccounts annotated, pods carry env and token volume (R2 R4 R5)
read -r id r < <(create_deployment "bl-$run-1" "$role_a"); wait_rollout "$r"
expect_annotation "$r" "$role_a"; expect_pod_env "$r" "$role_a"
# removal attempts keep the annotation (R10)
for role in '""' 'null'; do update_deployment "$ROLECHECK_PLATFORM_TOKEN" "$id" "$role" >/dev/null; done
expect_annotation "$r" "$role_a"
# a worker's token assumes the role; GetCallerIdentity names the assumed role (R12)
sa=$(service_account_of "$r" worker)
[[ $(assume "astronomer-$r" "$sa" sts.amazonaws.com) == 0 ]] || fail "assume: $(cat "$scratch/sts.err")"
jq -e '.AssumedRoleUser.Arn | test(":assumed-role/baseline-role/baseline$")' "$scratch/sts.json" >/dev/null || fail "assumed ARN"
AWS_ACCESS_KEY_ID=$(jq -r .Credentials.AccessKeyId "$scratch/sts.json") \
AWS_SECRET_ACCESS_KEY=$(jq -r .Credentials.SecretAccessKey "$scratch/sts.json") \
AWS_SESSION_TOKEN=$(jq -r .Credentials.SessionToken "$scratch/sts.json") \
  "$aws" sts get-caller-identity --query Arn --output text | grep -q ':assumed-role/baseline-role/baseline$' || fail "caller identity"
# wrong audience refused (R12)
[[ $(assume "astronomer-$r" "$sa" not-sts.example.com) == 1 ]] && grep -q InvalidIdentityToken "$scratch/sts.err" || fail "wrong audience accepted"
delete_deployment "$id"

# update binds a role to a deployment created without one (R3 R4 R5)
read -r id r < <(create_deployment "bl-$run-2" ""); wait_rollout "$r"; expect_annotation "$r" ""
update_deployment "$ROLECHECK_PLATFORM_TOKEN" "$id" "\"$role_a\"" | jq -e '.data.updateDeployment.id' >/dev/null || fail "update"
wait_rollout "$r"; expect_annotation "$r" "$role_a"; expect_pod_env "$r" "$role_a"
# re-binding replaces the role (R6)
update_deployment "$ROLECHECK_PLATFORM_TOKEN" "$id" "\"$role_b\"" >/dev/null; expect_annotation "$r" "$role_b"
delete_deployment "$id"

# editors and viewers cannot pass a role (R9)
read -r id r < <(create_deployment "bl-$run-3" ""); wait_rollout "$r"
editor=${ROLECHECK_PLATFORM_EDITOR_TOKEN:-}
if [[ -n "$editor" ]]; then
  update_deployment "$editor" "$id" "\"$role_a\"" | jq -e '.errors[0]' >/dev/null || fail "editor passed a role"
fi
expect_annotation "$r" ""
delete_deployment "$id"

# a ServiceAccount outside astronomer-* is refused by the trust policy (R12)
kubectl create namespace "outside-$run" >/dev/null
kubectl -n "outside-$run" create serviceaccount intruder >/dev/null
[[ $(assume "outside-$run" intruder sts.amazonaws.com) == 1 ]] && grep -q AccessDenied "$scratch/sts.err" || fail "outsider accepted"
kubectl delete namespace "outside-$run" >/dev/null

"$aws" iam delete-role --endpoint-url "$AWS_ENDPOINT_URL_IAM" --role-name baseline-role
echo "baseline: all checks held"

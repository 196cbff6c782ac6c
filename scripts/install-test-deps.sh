#!/usr/bin/env bash
# Installs what the test suite needs on Debian (run as root, or with sudo):
#   librdkafka-dev          the Kafka client and its mock cluster
#   libsqlite3-dev          the control-plane store (GRDB)
#   postgresql              the multi-node store's tests start throwaway clusters (initdb, postgres; no service is started)
#   kcat                    interoperability tests produce and read with it
#   docker-registry skopeo  the real-registry end-to-end test
#   umoci jq curl           (builds the test images offline)
#   byexample (runs the docs: scripts/docs-check), jsonschema, rfc3339-validator, cloudevents, azure-mgmt-containerregistry, azure-eventgrid,
#   standardwebhooks, pyyaml (scripts/openapi-json), schemathesis (scripts/openapi-fuzz),
#   yamllint kubernetes-validate check-jsonschema (scripts/check-deploy: deploy/'s YAML,
#   Kubernetes manifests and compose file)
#                           (PyPI): the independent checks
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends librdkafka-dev libsqlite3-dev pkg-config kcat \
  docker-registry skopeo umoci jq curl python3-pip postgresql chromium chromium-driver prometheus >/dev/null
packages=(jsonschema rfc3339-validator byexample==11.0.0 cloudevents==1.11.0 azure-mgmt-containerregistry==15.0.0 azure-eventgrid==4.22.1
  standardwebhooks==1.1.0 pyyaml schemathesis==4.32.5 yamllint==1.38.0 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 selenium==4.27.1)
if ! python3 -m pip install --quiet --disable-pip-version-check "${packages[@]}" 2>/dev/null; then
  # Debian's own Python refuses system-wide pip installs (PEP 668).
  python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${packages[@]}"
fi
python3 -c 'import byexample, jsonschema, rfc3339_validator, cloudevents.kafka, azure.mgmt.containerregistry, azure.eventgrid, standardwebhooks, yaml, schemathesis, yamllint, kubernetes_validate, check_jsonschema, selenium' \
  || { echo "install-test-deps: the Python checks did not install" >&2; exit 1; }

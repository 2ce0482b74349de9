#!/usr/bin/env bash
# Deploy one image to one environment, as the delivery pipeline does (docs/deployment.md):
#   deploy/ecs/deploy.sh <dev|staging|prod|production> <image tag, or <registry>/boardroom:<tag>>
# 1. the migration stack at the new image; 2. run the migration as a one-off ECS task and
# require exit status 0; 3. the app stack at the new image: the services roll (ECS's circuit
# breaker rolls back a release whose tasks never become healthy) and CloudFormation waits until
# both are stable; 4. wait for services-stable once more, so a caller's next step (the smoke
# test) meets the new release. Rolling back is this script with the previous tag.
# Needs the AWS CLI (credentials and region from the environment) and jq; the base and data
# stacks exist (deploy/ecs/README.md, "Deploying from zero").
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -ne 2 ]; then
    echo "usage: $0 <dev|staging|prod|production> <image tag or URI>" >&2
    exit 2
fi
env="$1"
[ "$env" = production ] && env=prod
case "$env" in dev | staging | prod) ;; *) echo "unknown environment: $1" >&2; exit 2 ;; esac
tag="${2##*:}"  # boardroom:<tag> or <registry>/boardroom:<tag> or <tag>
cluster="boardroom-$env"

say() { echo "deploy[$env]: $*" >&2; }

output() { # output STACK KEY
    aws cloudformation describe-stacks --stack-name "boardroom-$env-$1" \
        --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

stack() { # stack NAME: deploy the stack with the environment's parameters and ImageTag=$tag
    local params
    params=$(mktemp)
    jq --arg tag "$tag" \
        'map(if .ParameterKey == "ImageTag" then .ParameterValue = $tag else . end)' \
        "deploy/ecs/params/$env/$1.json" >"$params"
    aws cloudformation deploy --stack-name "boardroom-$env-$1" \
        --template-file "deploy/ecs/templates/$1.yaml" \
        --parameter-overrides "file://$params" \
        --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset
    rm -f "$params"
}

say "migration task definition at $tag"
stack migrate

say "running the migration"
network="awsvpcConfiguration={subnets=[$(output base PrivateSubnets)],securityGroups=[$(output base TaskSecurityGroup)],assignPublicIp=DISABLED}"
task=$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE \
    --task-definition "$(output migrate MigrationTaskDefinition)" \
    --network-configuration "$network" --query 'tasks[0].taskArn' --output text)
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
status=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" \
    --query 'tasks[0].containers[0].exitCode' --output text)
if [ "$status" != 0 ]; then
    say "the migration failed (exit status $status); the running release is untouched." \
        "Its log: /boardroom/$env/migrate"
    exit 1
fi

say "rolling the services to $tag"
stack app
say "waiting until both services are stable (after the migration: services-stable)"
aws ecs wait services-stable --cluster "$cluster" --services serve worker
say "done: $tag runs in $env"

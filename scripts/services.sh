#!/usr/bin/env bash
# Starts the local services the tests use, if they are not running: MariaDB on 127.0.0.1:3306.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

mysql_up() { mysqladmin --host=127.0.0.1 --port=3306 --user=root ping >/dev/null 2>&1; }

if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
  echo "services: installing mariadb-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null
fi

if ! mysql_up; then
  echo "services: starting MariaDB"
  server="$(command -v mariadbd || command -v mysqld)"
  $SUDO start-stop-daemon --start --oknodo --background --exec "$server"
  for _ in $(seq 1 100); do mysql_up && break; sleep 0.2; done
fi
mysql_up || { echo "services: MariaDB did not start" >&2; exit 1; }
echo "services: MariaDB is up on 127.0.0.1:3306"

# moto (S3 and CloudFront emulator) comes from the machine image; the tests start it themselves.
if python3 -c "import moto.server" >/dev/null 2>&1; then
  echo "services: moto is available"
else
  echo "services: moto is missing (python3 -m moto.server); the S3/CloudFront tests will fail under CI" >&2
fi

# Redis for the job queue tests (BullMQ): 127.0.0.1:6379.
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null 2>&1; then
  echo "services: installing redis-server"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi
if ! redis_up; then
  echo "services: starting Redis"
  $SUDO redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  for _ in $(seq 1 100); do redis_up && break; sleep 0.2; done
fi
redis_up || { echo "services: Redis did not start" >&2; exit 1; }
echo "services: Redis is up on 127.0.0.1:6379"

// Package deploy holds no code: it is the directory of deployment files
// (Dockerfile, docker-compose.yml with Prometheus and Grafana, the systemd
// unit, the udev rule and an example configuration). Its tests check those
// files: structure, metric names against the daemon's metric families, the
// Dockerfile's build command for each target platform, the unit with
// systemd-analyze, and the unit's privileges in an emulated sandbox.
// README.md says what is checked and what cannot be checked here.
package deploy

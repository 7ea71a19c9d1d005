//go:build !race

package medium

const raceEnabled = false

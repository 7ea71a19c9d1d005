// Package sim is the simulated world the border router runs in when no
// hardware is configured: a simulated 802.15.4 medium (sim/medium) and
// simulated RCPs on it (sim/rcpsim) reached through real PTYs, so the
// daemon's UART and Spinel code run unchanged. Simulated 6LoWPAN nodes join
// with the ND issue.
package sim

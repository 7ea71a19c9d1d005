// Package radio defines the seam between the border router and its
// IEEE 802.15.4 radio: the Radio interface, its frames, transmit options
// and results, settings and identity. Implementations live elsewhere: the
// Spinel RCP driver (radio/rcp) for OpenThread RCP firmware on a UART or
// SPI, reached through radio/transport, and the simulator's radios (sim).
package radio

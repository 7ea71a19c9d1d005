// Package upstream advertises the mesh to the LAN: an optional sender of
// Router Advertisements on the upstream (Ethernet/Wi-Fi) interface with a
// Route Information Option for the mesh prefix (RFC 4191 §2.3), router
// lifetime 0 unless configured (it is not a default router), RFC 4861
// §6.2.4 initial and periodic timing with jitter, answers to Router
// Solicitations (RFC 4861 §6.2.6) and a final RA with lifetime 0 on
// shutdown (§6.2.5).
//
// It leaves out RFC 8929 backbone proxying (the 6BBR role).
package upstream

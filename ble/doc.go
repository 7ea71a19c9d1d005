// Package ble is a Bluetooth LE host for IPv6 over BLE (IPSP, RFC 7668,
// RFC 9159) on one HCI controller: controller start-up (Core v5.4 Vol 4
// Part E §7: reset, version, features, BD_ADDR, event masks, LE buffers,
// data length extension and the 2M PHY when supported), host flow control
// of ACL data (§4.1.1: Number Of Completed Packets), fragmentation and
// reassembly of L2CAP PDUs in ACL packets, GAP as peripheral (advertising
// the IPSS, 0x1820) and as central (scanning for it, connecting, several
// connections, reconnection with backoff), and one L2CAP LE credit-based
// channel on the IPSP PSM 0x0023 per connection (Vol 3 Part A §4.22–4.24,
// §10.1; ble/l2cap). Each open channel is handed out as a Channel that
// carries one IPv6 packet per SDU (link.SDUChannel).
//
// LE security (pairing, encryption) is not implemented: links are
// unencrypted, and Open says so in the log.
package ble

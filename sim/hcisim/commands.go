package hcisim

import (
	"encoding/binary"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
	"github.com/lowpanbr/lowpanbr/sim/le"
)

// needs says which controllers know a command.
type needs uint8

const (
	always needs = iota
	needLE
	needDLE // data length extension: MaxDataLength > 27
	need2M
)

// commands lists the commands the controller knows with their bits in the
// Supported_Commands mask (Vol 4 Part E §6.27: octet, bit).
var commands = []struct {
	op         hci.Opcode
	octet, bit uint8
	needs      needs
}{
	{hci.OpDisconnect, 0, 5, always},
	{hci.OpSetEventMask, 5, 6, always},
	{hci.OpReset, 5, 7, always},
	{hci.OpReadLocalVersionInformation, 14, 3, always},
	{hci.OpReadLocalSupportedCommands, 14, 4, always},
	{hci.OpReadLocalSupportedFeatures, 14, 5, always},
	{hci.OpReadBDAddr, 15, 1, always},
	{hci.OpLESetEventMask, 25, 0, needLE},
	{hci.OpLEReadBufferSize, 25, 1, needLE},
	{hci.OpLEReadLocalSupportedFeatures, 25, 2, needLE},
	{hci.OpLESetRandomAddress, 25, 4, needLE},
	{hci.OpLESetAdvertisingParameters, 25, 5, needLE},
	{hci.OpLESetAdvertisingData, 25, 7, needLE},
	{hci.OpLESetScanResponseData, 26, 0, needLE},
	{hci.OpLESetAdvertisingEnable, 26, 1, needLE},
	{hci.OpLESetScanParameters, 26, 2, needLE},
	{hci.OpLESetScanEnable, 26, 3, needLE},
	{hci.OpLECreateConnection, 26, 4, needLE},
	{hci.OpLECreateConnectionCancel, 26, 5, needLE},
	{hci.OpLEConnectionUpdate, 27, 2, needLE},
	{hci.OpLESetDataLength, 33, 6, needDLE},
	{hci.OpLEReadSuggestedDefaultDataLength, 33, 7, needDLE},
	{hci.OpLEWriteSuggestedDefaultDataLength, 34, 0, needDLE},
	{hci.OpLEReadMaximumDataLength, 35, 3, needDLE},
	{hci.OpLEReadPHY, 35, 4, need2M},
	{hci.OpLESetDefaultPHY, 35, 5, need2M},
	{hci.OpLESetPHY, 35, 6, need2M},
	{hci.OpLEReadBufferSizeV2, 41, 5, needLE},
}

func (c *Controller) has(n needs) bool {
	switch n {
	case needLE:
		return !c.cfg.NoLE
	case needDLE:
		return !c.cfg.NoLE && c.cfg.MaxDataLength > le.MinDataLength
	case need2M:
		return !c.cfg.NoLE && !c.cfg.No2M
	}
	return true
}

func (c *Controller) knows(op hci.Opcode) bool {
	for _, k := range commands {
		if k.op == op {
			return c.has(k.needs)
		}
	}
	return false
}

func (c *Controller) supportedCommands() [64]byte {
	var m [64]byte
	for _, k := range commands {
		if c.has(k.needs) {
			m[k.octet] |= 1 << k.bit
		}
	}
	return m
}

// lmpFeatures is page 0 of the LMP features (Vol 2 Part C §3.3).
func (c *Controller) lmpFeatures() hci.LMPFeatures {
	if c.cfg.NoLE {
		// A BR/EDR controller's page (a CSR8510's) without LE Supported
		// (Controller), bit 38, or Simultaneous LE and BR/EDR, bit 49.
		return hci.LMPFeatures(binary.LittleEndian.Uint64([]byte{0xFF, 0xFF, 0x8F, 0xFE, 0x9B, 0xFF, 0x59, 0x87}))
	}
	return 1<<hci.LMPFeatureBREDRNotSupported | 1<<hci.LMPFeatureLESupportedController
}

// leFeatures is the LE feature mask (Vol 6 Part B §4.6).
func (c *Controller) leFeatures() hci.LEFeatures {
	var f hci.LEFeatures
	if c.has(needDLE) {
		f |= 1 << hci.LEFeatureDataPacketLengthExtension
	}
	if c.has(need2M) {
		f |= 1 << hci.LEFeature2MPHY
	}
	return f
}

// resetLocked puts the controller's parameters back to their defaults
// (Vol 4 Part E §7.3.2 and the defaults each command's section gives).
func (c *Controller) resetLocked() {
	c.eventMask = hci.DefaultEventMask
	c.leEventMask = hci.DefaultLEEventMask
	c.randomAddr = nil
	// §7.8.5: interval 0x0800 (1.28 s), ADV_IND, public, all channels.
	c.adv = hci.LESetAdvertisingParameters{IntervalMin: 0x0800, IntervalMax: 0x0800, ChannelMap: hci.AdvChannelAll}
	c.advData, c.scanRsp = hci.AdvertisingData{}, hci.AdvertisingData{}
	c.advEnabled = false
	// §7.8.10: passive, interval and window 0x0010 (10 ms).
	c.scan = hci.LESetScanParameters{Type: hci.ScanPassive, Interval: 0x0010, Window: 0x0010}
	c.scanEnabled, c.filterDup, c.seen = false, false, nil
	c.initiating = nil
	// §7.8.34: 27 octets and 328 µs until the host suggests others.
	c.defaultDL = hci.LEWriteSuggestedDefaultDataLength{TxOctets: le.MinDataLength, TxTime: minTime}
	c.defaultPHY = hci.LESetDefaultPHY{AllPHYs: hci.AllPHYsNoTxPreference | hci.AllPHYsNoRxPreference}
	c.outstanding = 0
}

// command handles one command packet from the host.
func (c *Controller) command(cmd hci.Command) {
	c.stats.commands.Add(1)
	op, p := cmd.Opcode(), cmd.Params()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.knows(op) {
		c.stats.unknown.Add(1)
		c.log.Debug("hcisim: unknown command", "op", op)
		if c.cfg.UnknownCommandComplete {
			c.completeStatus(op, hci.StatusUnknownCommand)
		} else {
			c.commandStatus(op, hci.StatusUnknownCommand)
		}
		return
	}
	// Handlers run with c.mu held and return what must run after it is
	// released: world calls that report back through linkLayer.
	if after := c.handle(op, p); after != nil {
		c.mu.Unlock()
		after()
		c.mu.Lock()
	}
}

func (c *Controller) handle(op hci.Opcode, p []byte) (after func()) {
	switch op {
	case hci.OpReset:
		c.resetWorldLocked()
		c.resetLocked()
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpSetEventMask:
		m, err := hci.ParseSetEventMask(p)
		if err != nil {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.eventMask = m.Mask
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpLESetEventMask:
		m, err := hci.ParseLESetEventMask(p)
		if err != nil {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.leEventMask = m.Mask
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpReadLocalVersionInformation:
		c.commandComplete(op, c.version.Append(c.rp[:0]))
	case hci.OpReadLocalSupportedCommands:
		c.commandComplete(op, hci.ReadLocalSupportedCommandsReturn{Commands: c.supportedCommands()}.Append(c.rp[:0]))
	case hci.OpReadLocalSupportedFeatures:
		c.commandComplete(op, hci.ReadLocalSupportedFeaturesReturn{Features: c.lmpFeatures()}.Append(c.rp[:0]))
	case hci.OpReadBDAddr:
		r := hci.ReadBDAddrReturn{}
		if c.cfg.AddrType == hci.AddrPublic {
			r.Addr = c.cfg.Addr
		}
		c.commandComplete(op, r.Append(c.rp[:0]))
	case hci.OpLEReadBufferSize, hci.OpLEReadBufferSizeV2:
		r := hci.LEReadBufferSizeReturn{ACLDataPacketLength: uint16(c.cfg.ACLDataLength), TotalNumACLDataPackets: uint8(c.cfg.ACLBuffers)}
		if op == hci.OpLEReadBufferSize {
			c.commandComplete(op, r.Append(c.rp[:0]))
		} else {
			c.commandComplete(op, r.AppendV2(c.rp[:0]))
		}
	case hci.OpLEReadLocalSupportedFeatures:
		c.commandComplete(op, hci.LEReadLocalSupportedFeaturesReturn{Features: c.leFeatures()}.Append(c.rp[:0]))
	case hci.OpLESetRandomAddress:
		c.setRandomAddress(op, p)
	case hci.OpLESetAdvertisingParameters:
		c.setAdvertisingParameters(op, p)
	case hci.OpLESetAdvertisingData:
		d, err := hci.ParseLESetAdvertisingData(p)
		if err != nil {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.advData = d.AdvertisingData
		if c.advEnabled { // §7.8.7: takes effect at once, advertising or not
			c.dev.SetAdvertising(true, c.connectable(), c.advData.Bytes())
		}
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpLESetScanResponseData:
		d, err := hci.ParseLESetScanResponseData(p)
		if err != nil {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.scanRsp = d.AdvertisingData // kept, never sent: sim/le has no scan requests
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpLESetAdvertisingEnable:
		c.setAdvertisingEnable(op, p)
	case hci.OpLESetScanParameters:
		c.setScanParameters(op, p)
	case hci.OpLESetScanEnable:
		c.setScanEnable(op, p)
	case hci.OpLECreateConnection:
		c.createConnection(op, p)
	case hci.OpLECreateConnectionCancel:
		c.createConnectionCancel(op)
	case hci.OpDisconnect:
		return c.disconnect(op, p)
	case hci.OpLEConnectionUpdate:
		c.connectionUpdate(op, p)
	case hci.OpLESetDataLength:
		return c.setDataLength(op, p)
	case hci.OpLEReadSuggestedDefaultDataLength:
		c.commandComplete(op, hci.LEReadSuggestedDefaultDataLengthReturn{TxOctets: c.defaultDL.TxOctets, TxTime: c.defaultDL.TxTime}.Append(c.rp[:0]))
	case hci.OpLEWriteSuggestedDefaultDataLength:
		d, err := hci.ParseLEWriteSuggestedDefaultDataLength(p)
		if err != nil || !validDataLength(d.TxOctets, d.TxTime) {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.defaultDL = d
		// New connections start with it: the link layer runs the Data Length
		// Update procedure as it connects (see Connected).
		c.dev.SetDefaults(c.effectiveOctets(d.TxOctets, d.TxTime, le.PHY1M), le.PHY1M)
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpLEReadMaximumDataLength:
		m := uint16(c.cfg.MaxDataLength)
		t := packetTime(c.cfg.MaxDataLength, le.PHY1M) // the slowest PHY supported
		c.commandComplete(op, hci.LEReadMaximumDataLengthReturn{MaxTxOctets: m, MaxTxTime: t, MaxRxOctets: m, MaxRxTime: t}.Append(c.rp[:0]))
	case hci.OpLEReadPHY:
		c.readPHY(op, p)
	case hci.OpLESetDefaultPHY:
		d, err := hci.ParseLESetDefaultPHY(p)
		if err != nil || d.AllPHYs > 0x03 || d.TxPHYs > 0x07 || d.RxPHYs > 0x07 {
			c.completeStatus(op, hci.StatusInvalidCommandParameters)
			return nil
		}
		c.defaultPHY = d // kept: connections start on LE 1M, the host asks for another with LE Set PHY
		c.completeStatus(op, hci.StatusSuccess)
	case hci.OpLESetPHY:
		return c.setPHY(op, p)
	}
	return nil
}

// resetWorldLocked stops what the device does in the world. Connections
// are severed rather than terminated: a resetting controller sends no
// LL_TERMINATE_IND, so its peers find out by supervision timeout (HCI test
// suite HCI/DSU/BV-03-C, BV-06-C), and this host hears nothing of them.
func (c *Controller) resetWorldLocked() {
	if c.dev == nil {
		return
	}
	c.dev.SetAdvertising(false, false, nil)
	c.advStoppedByReset = true
	c.dev.SetScanning(false)
	c.dev.CancelConnect()
	c.dev.SetDefaults(le.MinDataLength, le.PHY1M)
	for h, cn := range c.conns {
		cn.conn.Sever()
		c.abandoned[cn.conn] = true
		delete(c.conns, h)
	}
}

// ownAddrOK checks an Own_Address_Type: a random address (or an RPA that
// falls back to it, 0x03) needs LE Set Random Address first
// (§7.8.9, §7.8.11, §7.8.12: Invalid HCI Command Parameters).
func (c *Controller) ownAddrOK(t hci.AddrType) bool {
	return (t != hci.AddrRandom && t != hci.AddrRandomIdentity) || c.randomAddr != nil
}

func (c *Controller) connectable() bool {
	switch c.adv.Type {
	case hci.AdvInd, hci.AdvDirectIndHighDuty, hci.AdvDirectIndLowDuty:
		return true
	}
	return false
}

func (c *Controller) setRandomAddress(op hci.Opcode, p []byte) {
	r, err := hci.ParseLESetRandomAddress(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	// §7.8.4: not while legacy advertising, scanning or initiating.
	if c.advEnabled || c.scanEnabled || c.initiating != nil {
		c.completeStatus(op, hci.StatusCommandDisallowed)
		return
	}
	c.randomAddr = &r.Addr
	c.completeStatus(op, hci.StatusSuccess)
}

func (c *Controller) setAdvertisingParameters(op hci.Opcode, p []byte) {
	a, err := hci.ParseLESetAdvertisingParameters(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if c.advEnabled { // §7.8.5
		c.completeStatus(op, hci.StatusCommandDisallowed)
		return
	}
	// §7.8.5 ranges; the intervals do not matter for high duty cycle
	// directed advertising.
	ok := a.Type <= hci.AdvDirectIndLowDuty && a.OwnAddrType <= hci.AddrRandomIdentity &&
		a.PeerAddrType <= hci.AddrRandom && a.ChannelMap&^hci.AdvChannelAll == 0 && a.ChannelMap != 0 && a.FilterPolicy <= 3
	if a.Type != hci.AdvDirectIndHighDuty {
		ok = ok && a.IntervalMin >= 0x0020 && a.IntervalMax <= 0x4000 && a.IntervalMin <= a.IntervalMax
	}
	if !ok {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	c.adv = a
	c.completeStatus(op, hci.StatusSuccess)
}

func (c *Controller) setAdvertisingEnable(op hci.Opcode, p []byte) {
	e, err := hci.ParseLESetAdvertisingEnable(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if e.Enable && !c.ownAddrOK(c.adv.OwnAddrType) {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	// §7.8.9: enabling while enabled, or disabling while disabled, is fine.
	c.advEnabled = e.Enable
	if e.Enable {
		c.advStoppedByReset = false
	}
	c.dev.SetAdvertising(e.Enable, c.connectable(), c.advData.Bytes())
	c.completeStatus(op, hci.StatusSuccess)
}

func (c *Controller) setScanParameters(op hci.Opcode, p []byte) {
	s, err := hci.ParseLESetScanParameters(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if c.scanEnabled { // §7.8.10
		c.completeStatus(op, hci.StatusCommandDisallowed)
		return
	}
	if s.Type > hci.ScanActive || s.Interval < 0x0004 || s.Interval > 0x4000 || s.Window < 0x0004 ||
		s.Window > s.Interval || s.OwnAddrType > hci.AddrRandomIdentity || s.FilterPolicy > 3 {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	c.scan = s
	c.completeStatus(op, hci.StatusSuccess)
}

func (c *Controller) setScanEnable(op hci.Opcode, p []byte) {
	e, err := hci.ParseLESetScanEnable(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if e.Enable && !c.ownAddrOK(c.scan.OwnAddrType) {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if e.Enable && (!c.scanEnabled || e.FilterDuplicates != c.filterDup) {
		c.seen = nil // §7.8.11: duplicate filtering starts afresh
		if e.FilterDuplicates {
			c.seen = map[hci.BDAddr]bool{}
		}
	}
	c.scanEnabled, c.filterDup = e.Enable, e.FilterDuplicates && e.Enable
	c.dev.SetScanning(e.Enable)
	c.completeStatus(op, hci.StatusSuccess)
}

// validConnParams checks connection parameters against §7.8.12 and
// §7.8.18: the ranges, and a supervision timeout longer than
// (1 + latency) × interval × 2.
func validConnParams(p hci.ConnParams) bool {
	if p.IntervalMin < 0x0006 || p.IntervalMax > 0x0C80 || p.IntervalMin > p.IntervalMax ||
		p.MaxLatency > 0x01F3 || p.SupervisionTimeout < 0x000A || p.SupervisionTimeout > 0x0C80 ||
		p.MinCELength > p.MaxCELength {
		return false
	}
	// Units: timeout 10 ms = 8 × 1.25 ms.
	return uint32(p.SupervisionTimeout)*8 > (1+uint32(p.MaxLatency))*uint32(p.IntervalMax)*2
}

func connInterval(units uint16) time.Duration { return time.Duration(units) * 1250 * time.Microsecond }

func (c *Controller) createConnection(op hci.Opcode, p []byte) {
	cc, err := hci.ParseLECreateConnection(p)
	if err != nil {
		c.commandStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	if c.initiating != nil { // §7.8.12: one at a time
		c.commandStatus(op, hci.StatusCommandDisallowed)
		return
	}
	if cc.ScanInterval < 0x0004 || cc.ScanInterval > 0x4000 || cc.ScanWindow < 0x0004 || cc.ScanWindow > cc.ScanInterval ||
		cc.FilterPolicy > 1 || cc.PeerAddrType > hci.AddrRandomIdentity || cc.OwnAddrType > hci.AddrRandomIdentity ||
		!validConnParams(cc.ConnParams) || !c.ownAddrOK(cc.OwnAddrType) {
		c.commandStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	in := &initiation{peer: cc.PeerAddr, params: cc.ConnParams, viaList: cc.FilterPolicy == 1}
	if !in.viaList {
		for _, cn := range c.conns {
			if cn.peer == cc.PeerAddr {
				c.commandStatus(op, hci.StatusConnectionAlreadyExists)
				return
			}
		}
		// The central picks an interval in the range; Zephyr's takes the
		// maximum.
		err := c.dev.Connect(cc.PeerAddr, le.ConnParams{Interval: connInterval(cc.IntervalMax),
			SupervisionTimeout: time.Duration(cc.SupervisionTimeout) * 10 * time.Millisecond})
		if err != nil {
			c.log.Debug("hcisim: LE Create Connection", "err", err)
			c.commandStatus(op, hci.StatusCommandDisallowed)
			return
		}
	}
	c.initiating = in
	c.commandStatus(op, hci.StatusSuccess)
}

// createConnectionCancel: §7.8.13. Command Complete first, then, if the
// attempt was stopped, LE (Enhanced) Connection Complete with Unknown
// Connection Identifier. If the connection was made meanwhile, the cancel
// is refused and the connection reported as usual.
func (c *Controller) createConnectionCancel(op hci.Opcode) {
	in := c.initiating
	if in == nil {
		c.completeStatus(op, hci.StatusCommandDisallowed)
		return
	}
	if !in.viaList && !c.dev.CancelConnect() {
		// The world has just connected; Connected is on its way and clears
		// c.initiating.
		c.completeStatus(op, hci.StatusCommandDisallowed)
		return
	}
	c.initiating = nil
	c.completeStatus(op, hci.StatusSuccess)
	// Parameters other than the status are not valid in a failed
	// connection complete (§7.7.65.1); Zephyr's controller sends zeros.
	c.connectionCompleteLocked(&connection{}, hci.StatusUnknownConnectionID, 0)
}

// validDisconnectReason: the Reasons §7.1.6 allows (0x29 is Pairing With
// Unit Key Not Supported).
func validDisconnectReason(r hci.Status) bool {
	switch r {
	case hci.StatusAuthenticationFailure, hci.StatusRemoteUserTerminated, hci.StatusRemoteLowResources,
		hci.StatusRemotePowerOff, hci.StatusUnsupportedRemoteFeature, 0x29, hci.StatusUnacceptableConnectionParameters:
		return true
	}
	return false
}

func (c *Controller) disconnect(op hci.Opcode, p []byte) func() {
	d, err := hci.ParseDisconnect(p)
	if err != nil || !validDisconnectReason(d.Reason) {
		c.commandStatus(op, hci.StatusInvalidCommandParameters)
		return nil
	}
	cn := c.conns[d.Handle]
	if cn == nil {
		c.commandStatus(op, hci.StatusUnknownConnectionID)
		return nil
	}
	c.commandStatus(op, hci.StatusSuccess)
	// The world reports the end to both sides: Connection Terminated By
	// Local Host here, the reason at the peer (§7.7.5).
	conn := cn.conn
	return func() { conn.Disconnect(d.Reason) }
}

func (c *Controller) connectionUpdate(op hci.Opcode, p []byte) {
	u, err := hci.ParseLEConnectionUpdate(p)
	if err != nil || !validConnParams(u.ConnParams) {
		c.commandStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	cn := c.conns[u.Handle]
	if cn == nil {
		c.commandStatus(op, hci.StatusUnknownConnectionID)
		return
	}
	c.commandStatus(op, hci.StatusSuccess)
	cn.conn.SetInterval(connInterval(u.IntervalMax))
	cn.interval, cn.latency, cn.timeout = u.IntervalMax, u.MaxLatency, u.SupervisionTimeout
	// §7.7.65.3. sim/le tells the peer nothing of the new interval, so its
	// host does not hear of the update.
	if c.leEventEnabled(hci.LEEventMaskConnectionUpdateComplete) {
		c.finish(hci.LEConnectionUpdateComplete{Handle: cn.handle, Interval: cn.interval,
			PeripheralLatency: cn.latency, SupervisionTimeout: cn.timeout}.Append(c.startEvent()))
	}
}

// Data length limits (Vol 4 Part E §7.8.33: TxOctets 0x001B–0x00FB,
// TxTime 0x0148–0x4290).
const (
	minTime = 328
	maxTime = 17040
)

func validDataLength(octets, t uint16) bool {
	return octets >= le.MinDataLength && octets <= le.MaxDataLength && t >= minTime && t <= maxTime
}

// packetTime is the time a data PDU with octets of payload takes on phy
// as Vol 6 Part B §4.5.10 counts it: the whole packet with a MIC (14
// octets besides the payload on LE 1M, 15 with LE 2M's two-octet
// preamble; 328 µs for 27 octets on LE 1M), never below 328 µs, the
// smallest time the parameters allow.
func packetTime(octets int, phy le.PHY) uint16 {
	t := (octets + 14) * 8
	if phy == le.PHY2M {
		t = (octets + 15) * 4
	}
	return uint16(max(t, minTime))
}

// effectiveOctets is the payload a data length request allows: at most
// octets, what fits in t on phy, and what this controller supports.
func (c *Controller) effectiveOctets(octets, t uint16, phy le.PHY) int {
	fit := int(t)/8 - 14
	if phy == le.PHY2M {
		fit = int(t)/4 - 15
	}
	return max(le.MinDataLength, min(int(octets), fit, c.cfg.MaxDataLength))
}

// setDataLength: §7.8.33. Command Complete with the handle; LE Data Length
// Change follows on both sides if the data length changes.
func (c *Controller) setDataLength(op hci.Opcode, p []byte) func() {
	d, err := hci.ParseLESetDataLength(p)
	if err != nil {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return nil
	}
	if !validDataLength(d.TxOctets, d.TxTime) {
		c.completeHandle(op, hci.StatusInvalidCommandParameters, d.Handle)
		return nil
	}
	cn := c.conns[d.Handle]
	if cn == nil {
		c.completeHandle(op, hci.StatusUnknownConnectionID, d.Handle)
		return nil
	}
	c.completeHandle(op, hci.StatusSuccess, d.Handle)
	conn, octets := cn.conn, c.effectiveOctets(d.TxOctets, d.TxTime, cn.phy)
	return func() { conn.SetDataLength(octets) }
}

func (c *Controller) readPHY(op hci.Opcode, p []byte) {
	if len(p) < 2 {
		c.completeStatus(op, hci.StatusInvalidCommandParameters)
		return
	}
	h := binary.LittleEndian.Uint16(p)
	cn := c.conns[h]
	if cn == nil {
		c.completeHandle(op, hci.StatusUnknownConnectionID, h)
		return
	}
	// §7.8.47: Status, Connection_Handle, TX_PHY, RX_PHY.
	phy := byte(cn.conn.PHY())
	c.rp = append(c.rp[:0], byte(hci.StatusSuccess), byte(h), byte(h>>8), phy, phy)
	c.commandComplete(op, c.rp)
}

// setPHY: §7.8.49. The link in sim/le has one PHY both ways, so the
// request must allow the same PHY both ways; LE 2M is taken when allowed
// (no preference allows every PHY supported).
func (c *Controller) setPHY(op hci.Opcode, p []byte) func() {
	r, err := hci.ParseLESetPHY(p)
	if err != nil || r.AllPHYs > 0x03 || r.TxPHYs > 0x07 || r.RxPHYs > 0x07 || r.Options > hci.PHYOptionS8 ||
		(r.AllPHYs&hci.AllPHYsNoTxPreference == 0 && r.TxPHYs == 0) ||
		(r.AllPHYs&hci.AllPHYsNoRxPreference == 0 && r.RxPHYs == 0) {
		c.commandStatus(op, hci.StatusInvalidCommandParameters)
		return nil
	}
	cn := c.conns[r.Handle]
	if cn == nil {
		c.commandStatus(op, hci.StatusUnknownConnectionID)
		return nil
	}
	supported := hci.PHYMask1M | hci.PHYMask2M
	tx, rx := r.TxPHYs&supported, r.RxPHYs&supported
	if r.AllPHYs&hci.AllPHYsNoTxPreference != 0 {
		tx = supported
	}
	if r.AllPHYs&hci.AllPHYsNoRxPreference != 0 {
		rx = supported
	}
	var target le.PHY
	switch both := tx & rx; {
	case both&hci.PHYMask2M != 0:
		target = le.PHY2M
	case both&hci.PHYMask1M != 0:
		target = le.PHY1M
	default: // LE Coded only, or different PHYs each way
		c.commandStatus(op, hci.StatusUnsupportedFeatureOrParameter)
		return nil
	}
	c.commandStatus(op, hci.StatusSuccess)
	if cn.conn.PHY() == target {
		// §7.7.65.12: when neither PHY changes, the event comes at once.
		if c.leEventEnabled(hci.LEEventMaskPHYUpdateComplete) {
			c.finish(hci.LEPHYUpdateComplete{Handle: cn.handle, TxPHY: hci.PHY(target), RxPHY: hci.PHY(target)}.Append(c.startEvent()))
		}
		return nil
	}
	conn := cn.conn
	return func() { conn.SetPHY(target) }
}

package hci

// LMPFeatures is the LMP_Features bit mask of Read Local Supported
// Features (Vol 4 Part E §7.4.3): eight octets, bit n in octet n/8, bit
// n%8, read as a little-endian integer so that bit n is 1<<n. The bits are
// defined in Vol 2 Part C §3.3.
type LMPFeatures uint64

// LMP feature bit numbers (Vol 2 Part C §3.3).
const (
	LMPFeatureBREDRNotSupported     = 37
	LMPFeatureLESupportedController = 38
)

// Has reports whether feature bit n is set.
func (f LMPFeatures) Has(n uint) bool { return n < 64 && f&(1<<n) != 0 }

// LESupported reports the "LE Supported (Controller)" bit (38).
func (f LMPFeatures) LESupported() bool { return f.Has(LMPFeatureLESupportedController) }

// LEFeatures is the LE_Features bit mask of LE Read Local Supported
// Features (Vol 4 Part E §7.8.3) and of the link layer's feature exchange:
// eight octets read as a little-endian integer. The bits are defined in
// Vol 6 Part B §4.6.
type LEFeatures uint64

// LEFeature is a bit number in LEFeatures.
type LEFeature uint8

// LE feature bits (Vol 6 Part B §4.6).
const (
	LEFeatureEncryption                 LEFeature = 0
	LEFeatureConnParamsRequest          LEFeature = 1
	LEFeatureExtendedRejectIndication   LEFeature = 2
	LEFeaturePeripheralFeatureExchange  LEFeature = 3
	LEFeaturePing                       LEFeature = 4
	LEFeatureDataPacketLengthExtension  LEFeature = 5
	LEFeatureLLPrivacy                  LEFeature = 6
	LEFeatureExtendedScannerFilter      LEFeature = 7
	LEFeature2MPHY                      LEFeature = 8
	LEFeatureStableModulationIndexTx    LEFeature = 9
	LEFeatureStableModulationIndexRx    LEFeature = 10
	LEFeatureCodedPHY                   LEFeature = 11
	LEFeatureExtendedAdvertising        LEFeature = 12
	LEFeaturePeriodicAdvertising        LEFeature = 13
	LEFeatureChannelSelectionAlgorithm2 LEFeature = 14
)

// Has reports whether feature bit b is set.
func (f LEFeatures) Has(b LEFeature) bool { return b < 64 && f&(1<<b) != 0 }

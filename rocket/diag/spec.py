"""The diagnostics' parameters, per root data model (TR-181 2.17 names under
``Device.``, TR-098 / TR-143 names under ``InternetGatewayDevice.``).

One line per parameter: ``Name TYPE[w] [LIMIT] [=DEFAULT]``. TYPE: s string,
u unsignedInt, U unsignedLong, b boolean, d dateTime; ``w`` = writable.
LIMIT: a number (string length), ``lo:hi`` / ``lo:`` (range) or
``A|B|C`` (the values the ACS may write; ``_`` stands for a space).
Tables (``Name.{i}.``) list their columns the same way. The test kinds'
writable DiagnosticsState values follow the standard: Requested (and
Canceled on Device). tests/test_diag_spec.py checks every line against the
Broadband Forum XML.
"""

_DS = "DiagnosticsState sw %s =None\n"
_IN = "Interface sw 256\n"
_PV = "ProtocolVersion sw Any|IPv4|IPv6 =Any\n"
_RTT = "AverageResponseTime u\nMinimumResponseTime u\nMaximumResponseTime u\n"

_PING = _IN + "Host sw 256\nNumberOfRepetitions uw 1: =4\nTimeout uw 1: =1000\nDataBlockSize uw 1:65535 =64\n" \
    "DSCP uw 0:63 =0\nSuccessCount u\nFailureCount u\n" + _RTT
_TRACE = _IN + "Host sw 256\nNumberOfTries uw 1:3 =3\nTimeout uw 1: =5000\nDataBlockSize uw 1:65535 =38\n" \
    "DSCP uw 0:63 =0\nMaxHopCount uw 1:64 =30\nResponseTime u\nRouteHopsNumberOfEntries u\n"
_XFER = _IN + "DSCP uw 0:63 =0\nEthernetPriority uw 0:7 =0\nROMTime d\nBOMTime d\nEOMTime d\n" \
    "TCPOpenRequestTime d\nTCPOpenResponseTime d\n"
_NSL = _IN + "HostName sw 256\nDNSServer sw 256\nTimeout uw =5000\nNumberOfRepetitions uw =1\n" \
    "SuccessCount u\nResultNumberOfEntries u\n"
_NSL_RESULT = "Status s\nAnswerType s =None\nHostNameReturned s\nIPAddresses s\nDNSServerIP s\nResponseTime u\n"
_ECHOCFG = "Enable bw =false\nInterface sw 256\nSourceIPAddress sw 45\nUDPPort uw 0:65535 =0\n" \
    "EchoPlusEnabled bw =false\nEchoPlusSupported b =true\nPacketsReceived u\nPacketsResponded u\n" \
    "BytesReceived u\nBytesResponded u\nTimeFirstPacketReceived d\nTimeLastPacketReceived d\n"
_TIMEBASED = "TimeBasedTestDuration uw 0:999 =0\nTimeBasedTestMeasurementInterval uw 0:999 =0\n" \
    "TimeBasedTestMeasurementOffset uw 0:255 =0\n" + _PV + "NumberOfConnections uw 1: =1\nIPAddressUsed s\n"
_FULL = "TotalBytesReceivedUnderFullLoading U\nTotalBytesSentUnderFullLoading U\nPeriodOfFullLoading u\n" \
    "PerConnectionResultNumberOfEntries u\nEnablePerConnectionResults bw =false\nIncrementalResultNumberOfEntries u\n"
_PERCONN = "ROMTime d\nBOMTime d\nEOMTime d\n%s U\nTotalBytesReceived U\nTotalBytesSent U\n" \
    "TCPOpenRequestTime d\nTCPOpenResponseTime d\n"
_INCR = "%s U\nTotalBytesReceived U\nTotalBytesSent U\nStartTime d\nEndTime d\n"
_RW = "Requested|Canceled"

# kind -> {root: (object path, parameters, {table: columns})}
DEVICE = {
    "IPPing": ("IP.Diagnostics.IPPing.", _DS % _RW + _PING + _PV + "IPAddressUsed s\nAverageResponseTimeDetailed u\n"
               "MinimumResponseTimeDetailed u\nMaximumResponseTimeDetailed u\n", {}),
    "TraceRoute": ("IP.Diagnostics.TraceRoute.", _DS % _RW + _TRACE + _PV + "IPAddressUsed s\n",
                   {"RouteHops": "Host s 256\nHostAddress s\nErrorCode u\nRTTimes s\n"}),
    "DownloadDiagnostics": (
        "IP.Diagnostics.DownloadDiagnostics.", _DS % _RW + _XFER + "DownloadURL sw 2048\nDownloadTransports s =HTTP\n"
        + _TIMEBASED + "DownloadDiagnosticMaxConnections u =%(conns)s\nDownloadDiagnosticsMaxIncrementalResult u =100\n"
        "TestBytesReceived U\nTotalBytesReceived U\nTotalBytesSent U\nTestBytesReceivedUnderFullLoading U\n" + _FULL,
        {"PerConnectionResult": _PERCONN % "TestBytesReceived", "IncrementalResult": _INCR % "TestBytesReceived"}),
    "UploadDiagnostics": (
        "IP.Diagnostics.UploadDiagnostics.", _DS % _RW + _XFER + "UploadURL sw 2048\nUploadTransports s =HTTP\n"
        "TestFileLength Uw =0\n" + _TIMEBASED + "UploadDiagnosticsMaxConnections u =%(conns)s\n"
        "UploadDiagnosticsMaxIncrementalResult u =100\nTestBytesSent U\nTotalBytesReceived U\nTotalBytesSent U\n"
        "TestBytesSentUnderFullLoading U\n" + _FULL,
        {"PerConnectionResult": _PERCONN % "TestBytesSent", "IncrementalResult": _INCR % "TestBytesSent"}),
    "UDPEchoDiagnostics": (
        "IP.Diagnostics.UDPEchoDiagnostics.", _DS % _RW + _IN + "Host sw 256\nPort uw 1:65535 =7\n"
        "NumberOfRepetitions uw 1: =1\nTimeout uw 1: =5000\nDataBlockSize uw 1:65535 =24\nDSCP uw 0:63 =0\n"
        "InterTransmissionTime uw 1:65535 =1000\n" + _PV + "IPAddressUsed s\nSuccessCount u\nFailureCount u\n" + _RTT
        + "EnableIndividualPacketResults bw =false\nIndividualPacketResultNumberOfEntries u\n"
        "UDPEchoDiagnosticsMaxResults u =%(results)s\n",
        {"IndividualPacketResult": "PacketSuccess b\nPacketSendTime d\nPacketReceiveTime d\nTestGenSN u\n"
         "TestRespSN u\nTestRespRcvTimeStamp u\nTestRespReplyTimeStamp u\nTestRespReplyFailureCount u\n"}),
    "ServerSelectionDiagnostics": (
        "IP.Diagnostics.ServerSelectionDiagnostics.", _DS % _RW + _IN + _PV + "Protocol sw ICMP|UDP_Echo =ICMP\n"
        "HostList sw 2048\nNumberOfRepetitions uw 1: =3\nTimeout uw 1: =1000\nFastestHost s\n" + _RTT
        + "IPAddressUsed s\n", {}),
    "NSLookupDiagnostics": ("DNS.Diagnostics.NSLookupDiagnostics.", _DS % _RW + _NSL, {"Result": _NSL_RESULT}),
    "UDPEchoConfig": ("IP.Diagnostics.UDPEchoConfig.", _ECHOCFG, {}),
}
DEVICE_CAPS = ("IP.Diagnostics.", "IPv4PingSupported IPv6PingSupported IPv4TraceRouteSupported IPv6TraceRouteSupported "
               "IPv4DownloadDiagnosticsSupported IPv6DownloadDiagnosticsSupported IPv4UploadDiagnosticsSupported "
               "IPv6UploadDiagnosticsSupported IPv4UDPEchoDiagnosticsSupported IPv6UDPEchoDiagnosticsSupported "
               "IPv4ServerSelectionDiagnosticsSupported IPv6ServerSelectionDiagnosticsSupported")

IGD = {
    "IPPing": ("IPPingDiagnostics.", _DS % "Requested" + _PING, {}),
    "TraceRoute": ("TraceRouteDiagnostics.", _DS % "Requested" + _TRACE,
                   {"RouteHops": "HopHost s 256\nHopHostAddress s\nHopErrorCode u\nHopRTTimes s 16\n"}),
    "DownloadDiagnostics": ("DownloadDiagnostics.", _DS % "Requested" + _XFER + "DownloadURL sw 256\n"
                            "TestBytesReceived u\nTotalBytesReceived u\n", {}),
    "UploadDiagnostics": ("UploadDiagnostics.", _DS % "Requested" + _XFER + "UploadURL sw 256\nTestFileLength uw =0\n"
                          "TotalBytesSent u\n", {}),
    "NSLookupDiagnostics": ("NSLookupDiagnostics.", _DS % "Requested" + _NSL, {"Result": _NSL_RESULT}),
    "UDPEchoConfig": ("UDPEchoConfig.", _ECHOCFG, {}),
}
IGD_CAPS = ("Capabilities.PerformanceDiagnostic.", "")  # DownloadTransports, UploadTransports: "HTTP"

# The outcomes a test may end in where the standard allows fewer than the
# tests produce; anything else is mapped by final_state.
_E = "Error_CannotResolveHostName Error_Internal Error_Other"
STATES = {
    False: {"UDPEchoDiagnostics": "Complete " + _E, "ServerSelectionDiagnostics": "Complete " + _E,
            "UploadDiagnostics": "Complete Error_NoRouteToHost Error_InitConnectionFailed Error_NoResponse "
                                 "Error_NoTransferComplete Error_Timeout " + _E},
    True: {"IPPing": "Complete " + _E, "TraceRoute": "Complete Error_CannotResolveHostName Error_MaxHopCountExceeded",
           "DownloadDiagnostics": "Completed Error_InitConnectionFailed Error_NoResponse Error_TransferFailed "
                                  "Error_IncorrectSize Error_Timeout",
           "UploadDiagnostics": "Completed Error_InitConnectionFailed Error_NoResponse Error_NoTransferComplete"},
}


def final_state(igd, kind, state):
    """``state`` as the root's enumeration for ``kind`` can say it."""
    allowed = STATES[igd].get(kind)
    if allowed is None or state in allowed.split():
        return state
    prefer = {"Error_TransferFailed": "Error_NoTransferComplete", "Error_NoRouteToHost": "Error_InitConnectionFailed",
              "Error_CannotResolveHostName": "Error_InitConnectionFailed"}.get(state)
    if prefer and prefer in allowed:
        return prefer
    for alt in ("Error_Other", "Error_NoTransferComplete", "Error_TransferFailed", "Error_MaxHopCountExceeded"):
        if alt in allowed:
            return alt
    return state


# TR-098 column names of RouteHops, and its "Completed" for the transfer tests
IGD_RENAME = {"Host": "HopHost", "HostAddress": "HopHostAddress", "ErrorCode": "HopErrorCode", "RTTimes": "HopRTTimes"}
IGD_COMPLETE = {"DownloadDiagnostics": "Completed", "UploadDiagnostics": "Completed"}


def rows(text):
    """Parse the lines: [(name, type, writable, limit, default)]."""
    types = {"s": "string", "u": "unsignedInt", "U": "unsignedLong", "b": "boolean", "d": "dateTime"}
    defaults = {"string": "", "boolean": "false", "dateTime": "0001-01-01T00:00:00Z"}
    out = []
    for line in text.strip().split("\n"):
        words = line.split()
        name, t = words[0], words[1]
        ptype = types[t[0]]
        limit = None
        default = defaults.get(ptype, "0")
        for w in words[2:]:
            if w.startswith("="):
                default = w[1:]
            elif w.isdigit():
                limit = int(w)
            elif ":" in w:
                lo, hi = w.split(":")
                limit = (int(lo) if lo else None, int(hi) if hi else None)
            else:
                limit = tuple(v.replace("_", " ") for v in w.split("|"))
        out.append((name, ptype, t.endswith("w"), limit, default))
    return out

"""TR-143 diagnostics over CWMP: IPPing, TraceRoute, Download/Upload
(HTTP), NSLookup, ServerSelection, UDP echo (client and responder), under
``Device.`` (TR-181) or ``InternetGatewayDevice.`` (TR-098).

Imported only when ``[diagnostics] enable`` is on (rocket.plugins). The
parts: ``standby`` (the parameters; the rest imported at the first write),
``service`` (DiagnosticsState, queue, results, event),
``spec`` (the parameter tables), ``run`` (the frame a test runs in),
``probe``, ``trace``, ``http``, ``dns``, ``echo`` (the tests, each imported
when first used), ``wire`` (pure packet formats), ``netif`` (/proc, /sys).
"""

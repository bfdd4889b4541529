"""What the simulcast browser tests add to the host's page.

Chromium adapts to a busy CPU by shrinking the resolution of every simulcast layer (a
1280x720 / 640x360 / 320x180 ladder becomes 960x540 / 480x270 / 240x135, or loses its top
layer). On CI's two cores, shared with the rest of the suite, that happens at random, and
the tests assert sizes. `HOLD_RESOLUTION` makes every video sender the page creates prefer
its resolution (`degradationPreference: "maintain-resolution"`: Chromium lowers the frame
rate instead), so a layer keeps the size the studio asked for while the server's behaviour
is under test. The studio itself leaves Chromium's default.
"""

HOLD_RESOLUTION = """
(() => {
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (...args) {
    const transceiver = add.apply(this, args);
    const sender = transceiver.sender;
    const kind = sender.track ? sender.track.kind : args[0];
    if (kind === "video") {
      const params = sender.getParameters();
      params.degradationPreference = "maintain-resolution";
      sender.setParameters(params).catch(() => {});
    }
    return transceiver;
  };
})();
"""

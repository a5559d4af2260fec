/* citybrain command center: the alarm sound, the sound switch and full screen.
   Served from this server (no CDN). The sound is made with WebAudio, no file needed. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  citybrain: {
    /* Beep for every orange/red alert id not heard before in this tab; returns how many
       times it has sounded (shown nowhere, read by the browser tests). */
    alarm: function (alarmIds, played) {
      var seen = {};
      try { seen = JSON.parse(sessionStorage.getItem("citybrain-heard") || "{}"); } catch (e) {}
      var fresh = (alarmIds || []).filter(function (id) { return !seen[id]; });
      if (!fresh.length) { return window.dash_clientside.no_update; }
      fresh.forEach(function (id) { seen[id] = 1; });
      try { sessionStorage.setItem("citybrain-heard", JSON.stringify(seen)); } catch (e) {}
      if (localStorage.getItem("citybrain-sound") !== "off") {
        try {
          var audio = window.citybrainAudio || (window.citybrainAudio = new AudioContext());
          [0, 0.35, 0.7].forEach(function (at) {
            var osc = audio.createOscillator(), gain = audio.createGain();
            osc.type = "square"; osc.frequency.value = 880;
            gain.gain.value = 0.08;
            osc.connect(gain); gain.connect(audio.destination);
            osc.start(audio.currentTime + at); osc.stop(audio.currentTime + at + 0.2);
          });
        } catch (e) { /* no audio device: the banner still shows */ }
      }
      return String(Number(played || 0) + 1);
    },
    /* A click switches the alarm sound off and on (and unlocks audio in the browser). */
    toggleSound: function (clicks) {
      var off = localStorage.getItem("citybrain-sound") === "off";
      if (clicks) {
        off = !off;
        localStorage.setItem("citybrain-sound", off ? "off" : "on");
        if (!off && window.AudioContext) {
          var audio = window.citybrainAudio || (window.citybrainAudio = new AudioContext());
          audio.resume();
        }
      }
      return off ? "chip muted" : "chip";
    },
    fullScreen: function () {
      if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen();
      } else if (document.exitFullscreen) {
        document.exitFullscreen();
      }
      return "chip";
    }
  }
});

/* A callback answered 401 means the session expired (or the user was disabled): reload,
   so the server sends the page to the login form instead of leaving a frozen screen. */
(function () {
  var original = window.fetch;
  window.fetch = function (resource, init) {
    return original.call(this, resource, init).then(function (response) {
      var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      if (response.status === 401 && url.indexOf("_dash-") !== -1) {
        window.location.reload();
      }
      return response;
    });
  };
})();

// Passkeys on Sigra's pages: adding one (settings), signing in with one (the log-in page's
// button and the browser's autofill), and using one for two-step verification and sudo.
// Served from Sigra's own origin, so the pages' policy needs no 'unsafe-inline'.
//
// Each ceremony is two JSON POSTs with the CSRF header: the first answers the options for
// navigator.credentials.create()/get() (the server keeps the challenge), the second sends
// the browser's answer and gets {"ok": true, "next": …} or a refusal to show in the page.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function b64urlToBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function bytesToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = b64urlToBytes(c.id);
      return copy;
    });
  }

  // The server's options as the browser's WebAuthn calls take them.
  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBytes(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64urlToBytes(json.user.id) });
    o.excludeCredentials = withIds(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBytes(json.challenge);
    o.allowCredentials = withIds(json.allowCredentials);
    return o;
  }

  // The browser's answer as JSON (PublicKeyCredential.toJSON() where the browser has it).
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      return cred.toJSON();
    }
    var r = cred.response;
    var response = { clientDataJSON: bytesToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bytesToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        response.transports = r.getTransports();
      }
    } else {
      response.authenticatorData = bytesToB64url(r.authenticatorData);
      response.signature = bytesToB64url(r.signature);
      if (r.userHandle) {
        response.userHandle = bytesToB64url(r.userHandle);
      }
    }
    return {
      id: cred.id,
      rawId: bytesToB64url(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrf,
      },
      body: JSON.stringify(body || {}),
    }).then(function (res) {
      return res.json().then(
        function (json) {
          return { status: res.status, json: json };
        },
        function () {
          return { status: res.status, json: { error: "busy", message: "Something went wrong. Try again." } };
        }
      );
    });
  }

  // What the person reads when the browser's WebAuthn call fails.
  function browserError(e) {
    var name = e && e.name;
    if (name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out, or no passkey for this site was found.";
    }
    if (name === "InvalidStateError") {
      return "This passkey is already registered.";
    }
    if (name === "SecurityError") {
      return "Passkeys cannot be used on this address.";
    }
    if (name === "NotSupportedError") {
      return "This browser or device does not support passkeys.";
    }
    return "The passkey request failed. Try again, or use another way in.";
  }

  function say(el, text) {
    if (el) {
      el.textContent = text;
      el.hidden = !text;
    }
  }

  // The server's answer to a ceremony's second half: go on, or show why not.
  function finished(res, errorEl) {
    if (res.json && res.json.ok) {
      window.location.assign(res.json.next || window.location.href);
      return;
    }
    if (res.json && res.json.error === "sudo_required") {
      window.location.assign(res.json.next || window.location.href);
      return;
    }
    var fields = res.json && res.json.fields;
    var first = fields && Object.keys(fields).length ? fields[Object.keys(fields)[0]][0] : null;
    say(errorEl, (first && first.message) || (res.json && res.json.message) || "Something went wrong. Try again.");
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  // A ceremony's first half answered by a refusal (sudo first, say).
  function refusedStart(res, errorEl) {
    if (res.json && res.json.error === "sudo_required" && res.json.next) {
      window.location.assign(res.json.next);
      return true;
    }
    if (!res.json || !res.json.ok) {
      say(errorEl, (res.json && res.json.message) || "Something went wrong. Try again.");
      return true;
    }
    return false;
  }

  // Adding a passkey on the settings page.
  var add = document.getElementById("passkey-add");
  if (add) {
    var addError = document.getElementById("passkey-error");
    add.addEventListener("click", function (event) {
      event.preventDefault();
      say(addError, "");
      if (!supported()) {
        say(addError, "This browser or device does not support passkeys.");
        return;
      }
      var nameInput = document.getElementById("passkey-name");
      var name = nameInput ? nameInput.value : "";
      post(add.getAttribute("data-options"))
        .then(function (res) {
          if (refusedStart(res, addError)) {
            return null;
          }
          return navigator.credentials
            .create({ publicKey: creationOptions(res.json.options.publicKey) })
            .then(function (cred) {
              return post(add.getAttribute("data-finish"), { name: name, credential: credentialJSON(cred) });
            })
            .then(function (res2) {
              finished(res2, addError);
            });
        })
        .catch(function (e) {
          say(addError, browserError(e));
        });
    });
  }

  // A get() ceremony: sign-in, second factor or sudo. `mediation` "conditional" is the
  // browser's autofill.
  function getCeremony(button, errorEl, extra, mediation, signal) {
    return post(button.getAttribute("data-options")).then(function (res) {
      if (refusedStart(res, errorEl)) {
        return null;
      }
      var request = { publicKey: requestOptions(res.json.options.publicKey) };
      if (mediation) {
        request.mediation = mediation;
      }
      if (signal) {
        request.signal = signal;
      }
      return navigator.credentials.get(request).then(function (cred) {
        var body = Object.assign({ credential: credentialJSON(cred) }, extra());
        return post(button.getAttribute("data-finish"), body).then(function (res2) {
          finished(res2, errorEl);
        });
      });
    });
  }

  function returnTo() {
    var field = document.querySelector('input[name="return_to"]');
    return field && field.value ? { return_to: field.value } : {};
  }

  // The log-in page: the button, and passkeys offered in the email field's autofill.
  var signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    var signInError = document.getElementById("passkey-error");
    var autofill = null;
    var signInExtra = function () {
      var remember = document.querySelector('input[name="remember_me"]');
      var extra = returnTo();
      if (remember && remember.checked) {
        extra.remember_me = true;
      }
      return extra;
    };
    signIn.addEventListener("click", function (event) {
      event.preventDefault();
      say(signInError, "");
      if (!supported()) {
        say(signInError, "This browser or device does not support passkeys.");
        return;
      }
      if (autofill) {
        autofill.abort();
        autofill = null;
      }
      getCeremony(signIn, signInError, signInExtra).catch(function (e) {
        say(signInError, browserError(e));
      });
    });
    if (supported() && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) {
          return;
        }
        autofill = new AbortController();
        getCeremony(signIn, signInError, signInExtra, "conditional", autofill.signal).catch(function (e) {
          // Aborted for the button, or dismissed: the page stays as it is.
          if (e && e.name !== "AbortError" && e.name !== "NotAllowedError") {
            say(signInError, browserError(e));
          }
        });
      });
    }
  }

  // Two-step verification and sudo with a passkey.
  ["passkey-mfa", "passkey-sudo"].forEach(function (id) {
    var button = document.getElementById(id);
    if (!button) {
      return;
    }
    var errorEl = document.getElementById("passkey-error");
    button.addEventListener("click", function (event) {
      event.preventDefault();
      say(errorEl, "");
      if (!supported()) {
        say(errorEl, "This browser or device does not support passkeys.");
        return;
      }
      getCeremony(button, errorEl, returnTo).catch(function (e) {
        say(errorEl, browserError(e));
      });
    });
  });
})();

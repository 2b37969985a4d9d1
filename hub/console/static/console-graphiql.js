// GraphiQL, from the vendored files, with the console's ways of getting a token:
// - signed in: requests go to /console/api/graphql, which adds the session's token on the server
//   (the token itself never reaches this page);
// - in the demo: "Use this client's token" fetches a demo client's token and sends it directly.
(function () {
  "use strict";
  var controls = document.getElementById("graphiql-controls");
  var mount = document.getElementById("graphiql");
  if (!controls || !mount || !window.GraphiQL || !window.React || !window.ReactDOM) {
    return;
  }
  var csrf = controls.getAttribute("data-csrf");
  var signedIn = controls.getAttribute("data-signed-in") === "yes";
  var status = document.getElementById("graphiql-status");
  var demoToken = null;

  function fetcher(params) {
    var url = "/graphql";
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (demoToken) {
      headers.Authorization = "Bearer " + demoToken;
    } else if (signedIn) {
      url = "/console/api/graphql";
      headers["X-CSRF-Token"] = csrf;
    }
    return fetch(url, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
      credentials: "same-origin",
    }).then(function (response) {
      return response.json();
    });
  }

  var root = window.ReactDOM.createRoot(mount);
  function render() {
    root.render(window.React.createElement(window.GraphiQL, { fetcher: fetcher }));
  }
  render();

  var pick = document.getElementById("demo-client");
  var use = document.getElementById("use-demo-client");
  if (pick && use) {
    use.addEventListener("click", function () {
      var body = new URLSearchParams();
      body.set("audience", pick.value);
      fetch("/console/graphiql/token", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (json) {
            return { ok: response.ok, json: json };
          });
        })
        .then(function (answer) {
          if (!answer.ok) {
            status.textContent = answer.json.error || "The hub refused the demo token.";
            return;
          }
          demoToken = answer.json.access_token;
          status.textContent =
            "Requests go out with a token of demo-" + answer.json.audience.replace(/_/g, "-") +
            " (expires in " + answer.json.expires_in + " s).";
          render();
        });
    });
  }
})();

// Results as you type. The server renders every result page (escaped, in one template):
// this script only fetches the page the form would load and swaps in its <main>, so no
// post text is ever turned into HTML here. Without JavaScript the form works as it is.
(function () {
  "use strict";
  const form = document.getElementById("search");
  if (!form || !window.fetch || !window.DOMParser) return;
  const main = document.getElementById("results");
  let timer = null;
  let pending = null;

  function formUrl() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value && !(name === "sort" && value === "relevance")) params.append(name, value);
    }
    const query = params.toString();
    return query ? "/?" + query : "/";
  }

  async function refresh() {
    const url = formUrl();
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const response = await fetch(url, { signal: pending.signal, headers: { Accept: "text/html" } });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("results");
      if (!fresh) return;
      main.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
      history.replaceState(null, "", url);
      document.title = page.title;
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();

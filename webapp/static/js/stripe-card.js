// Stripe's card field, on the pages that take a card (only when PAYMENT_GATEWAY=stripe).
// A form marked data-stripe-card gets Stripe.js's Card Element; on submit the script asks the
// portal for a SetupIntent, has Stripe.js confirm the card into it (3-D Secure included), puts
// the SetupIntent's id in the form and submits it: the card number never reaches the portal.
// A box marked data-stripe-action runs a payment's 3-D Secure challenge (confirmCardPayment),
// then reloads the payment's status page, which reads the outcome from Stripe.
(function () {
  "use strict";

  function say(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  function bindCardForm(form) {
    if (form.dataset.stripeBound) { return; }
    form.dataset.stripeBound = "1";
    var stripe = Stripe(form.dataset.publishableKey);
    var card = stripe.elements().create("card");
    card.mount(form.querySelector(".card-element"));
    var errors = form.querySelector(".card-errors");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      var setup = form.querySelector("input[name=setup_intent]");
      if (setup.value) { return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      button.disabled = true;
      say(errors, "");
      var token = form.querySelector("input[name=csrf_token]").value;
      fetch(form.dataset.setupUrl, {method: "POST", credentials: "same-origin",
                                    headers: {"X-CSRFToken": token}})
        .then(function (answer) {
          if (!answer.ok) { throw new Error(errors.dataset.prepareFailed || "The card could not be prepared. Try again."); }
          return answer.json();
        })
        .then(function (body) {
          return stripe.confirmCardSetup(body.client_secret, {payment_method: {card: card}});
        })
        .then(function (result) {
          if (result.error) {
            throw new Error(result.error.message || errors.dataset.saveFailed || "The card could not be saved.");
          }
          setup.value = result.setupIntent.id;
          form.submit();
        })
        .catch(function (error) {
          say(errors, error.message || String(error));
          button.disabled = false;
        });
    }, true);
  }

  function bindAction(box) {
    if (box.dataset.stripeBound) { return; }
    box.dataset.stripeBound = "1";
    var stripe = Stripe(box.dataset.publishableKey);
    var button = box.querySelector("button");
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      // A renewal Stripe answered with authentication_required is confirmed again with its
      // own card (real Stripe needs it; the fake ignores it).
      var data = box.dataset.paymentMethod ? {payment_method: box.dataset.paymentMethod}
                                           : undefined;
      stripe.confirmCardPayment(box.dataset.clientSecret, data).then(function () {
        window.location.assign(box.dataset.returnUrl);
      });
    });
  }

  function bind(root) {
    root.querySelectorAll("form[data-stripe-card]").forEach(bindCardForm);
    root.querySelectorAll("[data-stripe-action]").forEach(bindAction);
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (event) { bind(event.target); });
})();

// The portal's only script of its own: buttons marked data-print open the print dialog.
// (Inline handlers are forbidden by the CSP; everything else works without JavaScript.)
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

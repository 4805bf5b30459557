// Moves the keyboard focus to the first thing a screen-reader or keyboard user must hear
// after a submitted form: the error summary, else an outcome or eligibility result.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.querySelector(".error-summary") || document.querySelector("#check-result");
  if (target) {
    target.focus();
  }
});

/** Whether a click on `link` is left to the browser (a full page load), not taken by the router. */
export function followsInBrowser(link: HTMLElement): boolean {
  let left = false;
  const seen = (event: Event) => {
    left = !event.defaultPrevented;
    event.preventDefault(); // jsdom cannot load pages
  };
  window.addEventListener('click', seen);
  link.click();
  window.removeEventListener('click', seen);
  return left;
}

export function render() { document.body.textContent = "Internals"; }

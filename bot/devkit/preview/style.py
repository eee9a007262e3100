"""The gallery's stylesheet: Slack's layout (sizes, colours, two-column fields, buttons),
with every text allowed to wrap anywhere so nothing runs out of its box at any width."""

CSS = """\
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  background: #f4f4f5;
  color: #1d1c1d;
  font: 15px/1.46668 Lato, "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
}
main, .page-head { max-width: 820px; margin: 0 auto; padding: 0 16px; }
.page-head h1 { font-size: 22px; margin: 24px 0 4px; }
.page-head p { margin: 0 0 16px; color: #616061; }
.page-head, .step, .item, .blocks, .block, .message-body, .section-main, .field, .text,
.context-text, .input-element, .hint, .field-error, .file-card, .caption, .command {
  min-width: 0;
  overflow-wrap: anywhere;
}
.step { margin: 0 0 28px; }
.command {
  font: 600 13px/1.5 "DejaVu Sans Mono", Menlo, Consolas, monospace;
  color: #4a154b;
  margin: 0 0 8px;
  white-space: pre-wrap;
}
.command .prompt { color: #868686; }
.items { display: flex; flex-direction: column; gap: 12px; align-items: flex-start; }
.item { width: 100%; max-width: 760px; background: #fff; border-radius: 8px;
  border: 1px solid #e0e0e0; }
.caption { font-size: 12px; color: #616061; }

.message, .file { display: flex; gap: 8px; padding: 8px 20px 10px 16px; }
.message.ephemeral { background: #f8f8f8; }
.message.deleted { opacity: 0.6; }
.avatar {
  flex: none; width: 36px; height: 36px; border-radius: 6px; background: #4a154b;
  color: #fff; font: 700 13px/36px "DejaVu Sans", sans-serif; text-align: center;
}
.message-body { flex: 1; }
.meta { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px; }
.sender { font-weight: 900; }
.avatar.person { background: #2eb67d; }
.badge {
  font-size: 10px; font-weight: 700; color: #616061; background: #e8e8e8;
  border-radius: 2px; padding: 0 3px;
}
.visibility { font-size: 13px; color: #616061; }

.block { margin: 4px 0; }
.block-header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 6px 0; }
.block-section { display: flex; gap: 12px; align-items: flex-start; }
.section-main { flex: 1; }
.fields {
  display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px 16px;
  margin-top: 4px;
}
.text + .fields { margin-top: 8px; }
.accessory { flex: none; max-width: 40%; }
.block-context {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px;
  font-size: 12px; color: #616061;
}
.context-image { width: 20px; height: 20px; border-radius: 4px; object-fit: cover; }
.block-divider { border-top: 1px solid #dddddd; margin: 12px 0; }
.block-actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.block-input { margin: 12px 0; }
.input-label { font-weight: 700; margin-bottom: 4px; overflow-wrap: anywhere; }
.optional { font-weight: 400; color: #616061; }
.hint { font-size: 13px; color: #616061; margin-top: 4px; }
.has-error .textinput, .has-error .select { border-color: #e01e5a;
  box-shadow: 0 0 0 1px #e01e5a; }
.field-error { font-size: 13px; color: #e01e5a; margin-top: 4px; overflow-wrap: anywhere; }
.block-image .image { display: block; max-width: 100%; height: auto; border-radius: 4px;
  border: 1px solid #e0e0e0; }
.image-title { font-size: 13px; color: #616061; margin-bottom: 4px; }
.image-missing {
  display: inline-block; max-width: 100%; padding: 16px; border: 1px dashed #bbb;
  border-radius: 4px; color: #616061; font-size: 13px; overflow-wrap: anywhere;
}
.context-image.image-missing, .accessory-image.image-missing { padding: 2px 4px; }
.accessory-image { width: 88px; height: 88px; border-radius: 6px; object-fit: cover; }

a { color: #1264a3; text-decoration: none; }
a:hover { text-decoration: underline; }
.mention { color: #1264a3; background: rgba(29, 155, 209, 0.1); border-radius: 3px;
  padding: 0 2px; }
.emoji { color: #616061; font-size: 0.9em; }
code {
  font: 12px/1.5 "DejaVu Sans Mono", Menlo, Consolas, monospace; color: #e01e5a;
  background: #f6f6f6; border: 1px solid #dddddd; border-radius: 3px; padding: 1px 3px;
  overflow-wrap: anywhere;
}
.pre {
  font: 12px/1.5 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f8f8f8;
  border: 1px solid #dddddd; border-radius: 4px; padding: 8px; margin: 4px 0;
  white-space: pre-wrap; overflow-wrap: anywhere;
}
blockquote { margin: 4px 0; padding-left: 12px; border-left: 4px solid #dddddd; }
.li { display: block; padding-left: 1.2em; text-indent: -1.2em; }
.rich-list { margin: 4px 0; padding-left: 1.6em; }
.indent-1 { margin-left: 1.5em; } .indent-2 { margin-left: 3em; }
.indent-3 { margin-left: 4.5em; } .indent-4 { margin-left: 6em; }

.button {
  display: inline-flex; align-items: center; min-height: 28px; max-width: 100%;
  padding: 3px 12px; border: 1px solid rgba(29, 28, 29, 0.3); border-radius: 4px;
  background: #fff; color: #1d1c1d; font-size: 13px; font-weight: 700; line-height: 1.3;
  overflow-wrap: anywhere;
}
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
.overflow { padding: 3px 8px; }
.select {
  display: inline-flex; align-items: center; min-height: 28px; width: 220px;
  max-width: 100%; padding: 3px 28px 3px 10px; border: 1px solid rgba(29, 28, 29, 0.3);
  border-radius: 4px; background: #fff; font-size: 13px; position: relative;
  overflow-wrap: anywhere;
}
.select::after { content: "▾"; position: absolute; right: 10px; color: #616061; }
.select-search { padding-left: 26px; }
.select-search::before { content: "⌕"; position: absolute; left: 9px; color: #616061; }
.input-element .select { width: 100%; min-height: 36px; }
.placeholder { color: #868686; }
.textinput {
  min-height: 36px; padding: 6px 10px; border: 1px solid rgba(29, 28, 29, 0.3);
  border-radius: 4px; background: #fff; overflow-wrap: anywhere;
}
.textinput.multiline { min-height: 84px; }
.choices { display: flex; flex-direction: column; gap: 4px; }
.choice { display: flex; gap: 8px; }
.choice-text { min-width: 0; overflow-wrap: anywhere; }
.choice-description { display: block; font-size: 13px; color: #616061; }
.element-unknown { font-size: 12px; color: #616061; border: 1px dashed #bbb; padding: 2px 6px; }
.unsupported {
  margin: 4px 0; padding: 6px 8px; border: 1px solid #e01e5a; color: #e01e5a;
  font-size: 13px;
}
.link-refused { text-decoration: underline dotted; }

.modal { max-width: 540px; padding: 8px 0 0; background: transparent; border: 0; }
.modal > .caption { padding: 0 4px 6px; }
.modal-frame {
  background: #fff; border-radius: 8px; border: 1px solid #d0d0d0;
  box-shadow: 0 4px 12px rgba(0, 0, 0, 0.12);
}
.modal-head {
  display: flex; justify-content: space-between; gap: 12px; padding: 16px 24px 12px;
  font-size: 20px; font-weight: 900; border-bottom: 1px solid #e8e8e8;
}
.modal-title { min-width: 0; overflow-wrap: anywhere; }
.modal-x { color: #616061; font-weight: 400; }
.modal-blocks { padding: 8px 24px; }
.modal-foot {
  display: flex; justify-content: flex-end; flex-wrap: wrap; gap: 8px;
  padding: 12px 24px 16px; border-top: 1px solid #e8e8e8;
}
.modal-foot .button { min-height: 36px; padding: 6px 16px; font-size: 15px; }

.home { padding: 0; overflow: hidden; }
.home > .caption { padding: 8px 16px 0; }
.home-tabs {
  display: flex; gap: 20px; padding: 8px 24px 0; border-bottom: 1px solid #e0e0e0;
  font-size: 14px; font-weight: 700; color: #616061;
}
.tab { padding: 4px 0 8px; }
.tab.on { color: #1d1c1d; border-bottom: 2px solid #1264a3; }
.home-blocks { padding: 8px 24px 16px; }

.file-card {
  margin-top: 6px; padding: 8px; border: 1px solid #e0e0e0; border-radius: 6px;
}
.file-title { font-weight: 700; font-size: 14px; margin-bottom: 6px; }
.file-card img { display: block; max-width: 100%; height: auto; }
.file-link { font-size: 12px; }

@media (max-width: 480px) {
  main, .page-head { padding: 0 8px; }
  .message, .file { padding: 8px 10px; }
  .modal-head, .modal-blocks, .modal-foot, .home-blocks { padding-left: 12px;
    padding-right: 12px; }
  .accessory { max-width: 35%; }
}
"""

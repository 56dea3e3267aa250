export default { name: 'TagsView', template: '<p>TagsView</p>' };
